"""Fine-tuning: a multi-label classifier over token windows, trained on the entry's labels.

Each entry is cut into the same overlapping windows the package uses at
prediction time; the entry's logit for a label is the maximum over its windows
(multiple-instance learning), so a long article is labelled by its most telling
passage and the loss never pretends that every window carries the cue.
"""

from __future__ import annotations

import json
import math
from collections import Counter
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from moderation.hardware import cpu_supports_bf16, keep_freed_memory
from moderation.labels import LABELS
from moderation.model import Moderator
from moderation.model_folder import ModelConfig, load_base_classifier
from moderation.normalize import normalize_for_model
from moderation.windows import make_windows

from .calibrate import fit_calibration, sigmoid
from .config import TrainConfig
from .data import Example, label_matrix
from .realdata import is_real, training_sets
from .metrics import report

Log = Callable[[str], None]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    owner: torch.Tensor  # window -> entry index within the batch
    labels: torch.Tensor  # (entries, labels)


def encode(tokenizer, examples: Sequence[Example], max_length: int, stride: int) -> list[list[list[int]]]:
    """Windows of each example, as lists of token ids."""
    windows = make_windows(
        tokenizer, [normalize_for_model(e.text) for e in examples], max_length, stride, paragraphs=False
    )
    per_entry: list[list[list[int]]] = [[] for _ in examples]
    for ids, owner in zip(windows.input_ids, windows.owner):
        per_entry[owner].append(ids)
    return per_entry


def make_batches(
    per_entry: list[list[list[int]]], y: np.ndarray, batch_size: int, rng: random.Random, pad_id: int
) -> list[Batch]:
    """Shuffle entries, then group similar lengths together (within chunks) to save padding."""
    order = list(range(len(per_entry)))
    rng.shuffle(order)
    chunk = batch_size * 32
    batches = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c : c + chunk], key=lambda i: max(len(w) for w in per_entry[i]))
        for b in range(0, len(part), batch_size):
            idx = part[b : b + batch_size]
            wins = [(k, w) for k, i in enumerate(idx) for w in per_entry[i]]
            width = max(len(w) for _, w in wins)
            ids = torch.full((len(wins), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(wins), width), dtype=torch.long)
            for row, (_, w) in enumerate(wins):
                ids[row, : len(w)] = torch.tensor(w)
                mask[row, : len(w)] = 1
            batches.append(
                Batch(ids, mask, torch.tensor([k for k, _ in wins]), torch.tensor(y[idx], dtype=torch.float32))
            )
    rng.shuffle(batches)
    return batches


def entry_logits(window_logits: torch.Tensor, owner: torch.Tensor, n_entries: int) -> torch.Tensor:
    """Per-entry maximum over its windows (differentiable)."""
    out = torch.full((n_entries, window_logits.shape[1]), -1e4, dtype=window_logits.dtype)
    index = owner.unsqueeze(1).expand_as(window_logits)
    return out.scatter_reduce(0, index, window_logits, reduce="amax", include_self=True)


def wrap_lora(model, cfg: TrainConfig):
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=cfg.model.lora_r,
        lora_alpha=cfg.model.lora_alpha,
        lora_dropout=cfg.model.lora_dropout,
        target_modules=list(cfg.model.lora_targets),
        modules_to_save=["classifier"],
    )
    return get_peft_model(model, lora)


def trainable_state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def dev_logits(model, tokenizer, cfg: TrainConfig, examples: Sequence[Example]) -> np.ndarray:
    model.eval()
    probe = Moderator.from_model(model, tokenizer, ModelConfig(version="dev", max_length=cfg.model.max_length,
                                                                stride=cfg.model.stride))
    logits = probe.logits([e.text for e in examples])  # the users' path: normalised, windowed
    model.train()
    return logits


def use_bf16(precision: str) -> bool:
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"optim.precision must be auto, bf16 or fp32, not {precision!r}")
    return precision == "bf16" or (precision == "auto" and cpu_supports_bf16())


def train(cfg: TrainConfig, log: Log = print) -> Path:
    """Fine-tune, select the best epoch on dev, calibrate on dev, and save a model folder."""
    started = time.time()
    seed_everything(cfg.optim.seed)
    if cfg.optim.threads:
        torch.set_num_threads(cfg.optim.threads)
    keep_freed_memory()
    bf16 = use_bf16(cfg.optim.precision)
    train_ex, dev_ex = training_sets(cfg.data)
    y_train, y_dev = label_matrix(train_ex), label_matrix(dev_ex)
    n_real = sum(map(is_real, train_ex))
    log(f"data: {len(train_ex)} train ({n_real} real), {len(dev_ex)} dev entries; base {cfg.model.base}; "
        f"{'bf16 autocast' if bf16 else 'fp32'}, {torch.get_num_threads()} threads")

    model, tokenizer = load_base_classifier(cfg.model.base)
    if cfg.model.lora:
        model = wrap_lora(model, cfg)
    model.train()
    per_entry = encode(tokenizer, train_ex, cfg.model.max_length, cfg.model.stride)
    n_windows = sum(len(w) for w in per_entry)
    log(f"train windows: {n_windows} ({n_windows - len(per_entry)} extra from long entries)")

    head = [p for n, p in model.named_parameters() if p.requires_grad and "classifier" in n]
    body = [p for n, p in model.named_parameters() if p.requires_grad and "classifier" not in n]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": cfg.optim.lr}, {"params": head, "lr": cfg.optim.head_lr}],
        weight_decay=cfg.optim.weight_decay,
    )
    steps_per_epoch = math.ceil(len(train_ex) / cfg.optim.batch_size)
    total = steps_per_epoch * cfg.optim.epochs
    warmup = max(1, int(total * cfg.optim.warmup_ratio))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(cfg.optim.seed)
    pad_id = tokenizer.pad_token_id or 0
    best_f1, best_state, best_epoch = -1.0, None, 0
    history = []
    step = 0
    for epoch in range(1, cfg.optim.epochs + 1):
        t0, total_loss = time.time(), 0.0
        batches = make_batches(per_entry, y_train, cfg.optim.batch_size, rng, pad_id)
        for i, batch in enumerate(batches, start=1):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
            loss = loss_fn(entry_logits(out.float(), batch.owner, len(batch.labels)), batch.labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            total_loss += loss.item()
            step += 1
            if step % 50 == 0:
                log(f"  step {step}/{total} loss {total_loss / i:.4f}")
        seconds = round(time.time() - t0, 1)
        record = {"epoch": epoch, "loss": total_loss / len(batches), "dev_macro_f1": None, "seconds": seconds}
        history.append(record)
        if not cfg.optim.select_epoch:  # dev is scored once, by the calibration of the saved folder
            log(f"epoch {epoch}: loss {record['loss']:.4f} ({seconds:.0f}s; dev is scored after the last epoch)")
            best_epoch = epoch
            continue
        logits = dev_logits(model, tokenizer, cfg, dev_ex)
        temps, thresholds = fit_calibration(logits, y_dev)
        dev = report(y_dev, sigmoid(logits / temps), thresholds)
        record["dev_macro_f1"] = dev["macro_f1"]
        log(f"epoch {epoch}: loss {record['loss']:.4f} dev macro-F1 {dev['macro_f1']:.4f} "
            f"({seconds:.0f}s training, {time.time() - t0 - seconds:.0f}s dev)")
        if dev["macro_f1"] > best_f1:
            best_f1, best_state, best_epoch = dev["macro_f1"], trainable_state(model), epoch

    if best_epoch != cfg.optim.epochs:  # epoch selection picked an earlier epoch
        model.load_state_dict(best_state, strict=False)
    model.eval()
    from .export import calibrate_folder, save_model

    meta = {
        "best_epoch": best_epoch,
        "history": history,
        "train_entries": len(train_ex),
        "real_train_entries": n_real,
        "real_dev_entries": sum(map(is_real, dev_ex)),
        "real_train_sets": dict(sorted(Counter(e.domain for e in train_ex if is_real(e)).items())),
        "dev_entries": len(dev_ex),
        "train_seconds": round(time.time() - started, 1),
        "config": cfg.to_dict(),
    }
    # neutral temperatures and thresholds until calibrate_folder fits them on the scores users get
    out = save_model(model, tokenizer, cfg, np.ones(len(LABELS)), np.full(len(LABELS), 0.5), meta)
    calibrated = calibrate_folder(out, dev_ex)
    meta["dev"] = calibrated.extra["dev"]
    meta["calibration"] = calibrated.extra["calibration"]
    if history[-1]["dev_macro_f1"] is None:
        history[-1]["dev_macro_f1"] = meta["dev"]["all"]["macro_f1"]
    meta["train_seconds"] = round(time.time() - started, 1)
    log(f"saved {out} (best epoch {best_epoch}, dev macro-F1 {meta['dev']['all']['macro_f1']:.4f} "
        f"on {meta['calibration']['backend']}, {time.time() - started:.0f}s)")
    (out / "training_log.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out
