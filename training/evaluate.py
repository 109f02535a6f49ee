"""Evaluation report: the model and two baselines, per label and macro, on dev and test.

Reports every number on all entries and on the clear cases (cells not marked
ambiguous for that label), as the labelling guideline asks, and a third time on the
split's contrast sets: entries whose story also has an entry with a different value
of some label (minimal pairs written so that the same words appear on both sides of
a boundary), where a bag-of-words model cannot lean on vocabulary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from moderation.labels import LABELS
from moderation.model import Moderator

from .baselines import KeywordRules, TfidfLogReg
from .data import clear_mask, contrast_mask, label_matrix, load_split
from .metrics import report

METRICS = ("precision", "recall", "f1", "auprc", "ece")


@dataclass
class EvalReport:
    data: dict[str, Any]
    markdown: str


def _table(title: str, systems: dict[str, dict[str, Any]]) -> list[str]:
    lines = [f"### {title}", "", "| system | label | P | R | F1 | AUPRC | ECE | pos/n |", "|---|---|---|---|---|---|---|---|"]
    for name, rep in systems.items():
        for label, m in rep["labels"].items():
            lines.append(
                f"| {name} | `{label}` | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                f"{m['auprc']:.3f} | {m['ece']:.3f} | {m['support']}/{m['n']} |"
            )
        lines.append(f"| {name} | **macro-F1** | | | **{rep['macro_f1']:.3f}** | | | |")
    return lines + [""]


def evaluate(
    model_dir: str | Path | None,
    corpus: str | Path,
    splits: Sequence[str] = ("dev", "test"),
    out_dir: str | Path | None = None,
    baselines: bool = True,
    update_card: bool = False,
    backend: str = "auto",
) -> EvalReport:
    """Score the model (and the baselines) on ``splits``; optionally add the numbers to the model card."""
    moderator = Moderator.from_pretrained(model_dir, backend=backend)
    thresholds = np.array([moderator.thresholds[label] for label in LABELS])
    if baselines:
        train = load_split(corpus, "train")
        dev = load_split(corpus, "dev")
        tfidf = TfidfLogReg().fit([e.text for e in train], label_matrix(train))
        tfidf_thresholds = tfidf.fit_thresholds([e.text for e in dev], label_matrix(dev))
        rules = KeywordRules()
    data: dict[str, Any] = {"model_version": moderator.version, "backend": moderator.backend, "corpus": str(corpus),
                            "splits": {}}
    md = [f"# Evaluation of model {moderator.version} ({moderator.backend} backend)", "",
          f"Corpus: `{corpus}`. Thresholds and temperatures "
          "(model) and thresholds (TF-IDF) were fitted on dev, so dev numbers are optimistic; test is untouched.", ""]
    for split in splits:
        examples = load_split(corpus, split)
        texts = [e.text for e in examples]
        y, mask = label_matrix(examples), clear_mask(examples)
        scored = {"model": (moderator.predict_proba(texts), thresholds)}
        if baselines:
            scored["tfidf_logreg"] = (tfidf.predict_proba(texts), tfidf_thresholds)
            scored["keyword_rules"] = (rules.predict_proba(texts), np.full(len(LABELS), 0.5))
        contrast = contrast_mask(examples)
        views = [("all", None), ("clear", mask)]
        if contrast.any():
            views.append(("contrast", np.repeat(contrast[:, None], len(LABELS), axis=1)))
        split_data = {}
        for view, m in views:
            split_data[view] = {name: report(y, prob, thr, m) for name, (prob, thr) in scored.items()}
        data["splits"][split] = {"n": len(examples), "n_contrast": int(contrast.sum()), **split_data}
        md += [f"## {split} ({len(examples)} entries)", ""]
        md += _table(f"{split}: all entries", split_data["all"])
        md += _table(f"{split}: clear cases only", split_data["clear"])
        if "contrast" in split_data:
            md += _table(f"{split}: contrast sets only ({int(contrast.sum())} entries)", split_data["contrast"])
    markdown = "\n".join(md)
    if update_card:
        from moderation.model import BUNDLED_MODEL_DIR

        from .export import write_model_card

        folder = Path(model_dir) if model_dir is not None else BUNDLED_MODEL_DIR
        titles = {"all": "all entries", "clear": "clear cases", "contrast": "contrast sets"}
        write_model_card(folder, moderator.config, {
            f"{split} ({title})": data["splits"][split][view]["model"]
            for split in splits for view, title in titles.items() if view in data["splits"][split]
        }, baselines={split: {name: rep["macro_f1"] for name, rep in data["splits"][split]["all"].items()}
                      for split in splits} if baselines else None, backend=moderator.backend)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        (out / "report.md").write_text(markdown + "\n", encoding="utf-8")
    return EvalReport(data=data, markdown=markdown)
