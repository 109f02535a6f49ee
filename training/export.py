"""Saving a trained model: the adapter tensors of a PEFT model and its settings.

The folder itself (files, format tag, card template) belongs to ``moderation.model_folder``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch

from moderation.labels import GUIDELINE_VERSION, LABELS
from moderation.model_folder import ModelConfig, load_model, save_folder

from .card import model_card
from .config import TrainConfig

PEFT_PREFIX = "base_model.model."


def adapter_tensors(peft_model) -> dict[str, torch.Tensor]:
    """``lora.<module>.A/B`` for each LoRA layer and ``full.<param>`` for fully trained modules."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in peft_model.named_modules():
        if hasattr(module, "lora_A") and "default" in getattr(module, "lora_A", {}):
            base_name = name.removeprefix(PEFT_PREFIX)
            tensors[f"lora.{base_name}.A"] = module.lora_A["default"].weight.detach().cpu().contiguous()
            tensors[f"lora.{base_name}.B"] = module.lora_B["default"].weight.detach().cpu().contiguous()
    for name, param in peft_model.named_parameters():
        if ".modules_to_save.default." in name:
            base_name = name.removeprefix(PEFT_PREFIX).replace(".modules_to_save.default.", ".")
            tensors[f"full.{base_name}"] = param.detach().cpu().contiguous()
    if not any(k.startswith("lora.") for k in tensors):
        raise ValueError("no LoRA layers found in the model")
    return tensors


def save_model(model, tokenizer, cfg: TrainConfig, temps: np.ndarray, thresholds: np.ndarray, meta: dict[str, Any]) -> Path:
    """Save the trained model through ``moderation.model_folder`` (weights, settings, card) and check it reloads."""
    config = ModelConfig(
        version=cfg.version,
        base_model=cfg.model.base,
        max_length=cfg.model.max_length,
        stride=cfg.model.stride,
        thresholds={label: round(float(t), 6) for label, t in zip(LABELS, thresholds)},
        temperatures={label: round(float(t), 6) for label, t in zip(LABELS, temps)},
        lora={"r": cfg.model.lora_r, "alpha": cfg.model.lora_alpha, "targets": list(cfg.model.lora_targets)}
        if cfg.model.lora
        else None,
        guideline=GUIDELINE_VERSION,
        extra={"trained": date.today().isoformat(), "best_epoch": meta.get("best_epoch"),
               "train_entries": meta.get("train_entries"), "real_train_entries": meta.get("real_train_entries", 0),
               "real_train_sets": meta.get("real_train_sets", {}), "dev_entries": meta.get("dev_entries"),
               "changes": list(cfg.changes), "known_issues": list(cfg.known_issues), "dev": meta.get("dev")},
    )
    weights = {"adapter": adapter_tensors(model)} if cfg.model.lora else {"model": model, "tokenizer": tokenizer}
    out = save_folder(cfg.output_dir, config, card=model_card(config), **weights)
    verify_roundtrip(model, out)
    return out


def verify_roundtrip(model, folder: Path, atol: float = 1e-3) -> None:
    """Reload the saved folder the way the package does and check it gives the same logits."""
    reloaded, tokenizer, _ = load_model(folder)
    batch = tokenizer(["Soldiers shot the guard in the back.", "Text GIVE to 70070 to donate £5."],
                      return_tensors="pt", padding=True)
    model.eval()
    with torch.inference_mode():
        a = model(**batch).logits
        b = reloaded(**batch).logits
    if not torch.allclose(a, b, atol=atol):
        raise RuntimeError(f"saved model does not reproduce the trained logits (max diff {(a - b).abs().max():.2e})")


def calibrate_folder(folder: str | Path, examples, backend=None) -> ModelConfig:
    """Fit a saved model's temperatures and thresholds on ``examples`` (the dev set) as users run it.

    Scores come from ``Moderator`` on ``backend`` (default: the one users get, int8 where
    onnxruntime is installed), not from the training-time torch model. Dev F1 is flat over wide
    ranges of threshold, so small score differences move the best one far: one run's weights had a
    solicitation threshold of 0.56 on training's fp32 scores and 0.81 on int8 scores.
    ``moderation.json`` and the card are rewritten; the dev metrics and the backend used are kept
    under ``extra``.
    """
    import dataclasses

    from moderation.model import Moderator
    from moderation.model_folder import read_model_config, write_card

    from .calibrate import fit_calibration, sigmoid
    from .data import clear_mask, label_matrix
    from .metrics import report

    folder = Path(folder)
    old = read_model_config(folder)
    if old is None:
        raise FileNotFoundError(f"{folder} has no moderation.json")
    moderator = Moderator.from_pretrained(folder, backend=backend)
    logits = moderator.logits([e.text for e in examples])
    y = label_matrix(examples)
    temps, thresholds = fit_calibration(logits, y)
    probs = sigmoid(logits / temps)
    extra = dict(old.extra or {})
    extra["dev"] = {"all": report(y, probs, thresholds), "clear": report(y, probs, thresholds, clear_mask(examples))}
    extra["calibration"] = {"backend": moderator.backend.value, "dev_entries": len(examples)}
    config = dataclasses.replace(
        old,
        thresholds={label: round(float(t), 6) for label, t in zip(LABELS, thresholds)},
        temperatures={label: round(float(t), 6) for label, t in zip(LABELS, temps)},
        extra=extra,
    )
    config.save(folder)
    write_card(folder, model_card(config))
    return config
