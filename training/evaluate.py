"""Evaluation report: the model and two baselines, per label and macro, on dev and test.

The synthetic corpus splits are reported beside real published text (the real-test
split of ``training/data/real_labels.jsonl``, overall and per source set), and the
baselines are trained on exactly the data the model's training config trains on.

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

from moderation.labels import LABELS, reaches
from moderation.model import Moderator
from moderation.model_folder import write_card

from .baselines import KeywordRules, TfidfLogReg
from .card import model_card
from .config import load_config
from .data import Example, clear_mask, contrast_mask, label_matrix, load_split
from .metrics import report
from .realdata import REAL_LABELS, RealDataMissing, load_real, training_sets



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


def model_scores(moderator: Moderator, texts: Sequence[str]) -> np.ndarray:
    """Scores through the path users get (``Moderator.predict_proba``: normalisation, empty-text guard, windows,
    calibration), in ``LABELS`` order."""
    return moderator.predict_proba(list(texts)).astype(np.float64).reshape(-1, len(LABELS))


def _per_set_table(split: str, per_set: dict[str, dict[str, Any]]) -> list[str]:
    """F1 per source set on clear cases; '–' where a set has no positive of a label."""
    names = list(next(iter(per_set.values()))["systems"])
    head = "| set | n | " + " | ".join(f"{n} {l.value}" for n in names for l in LABELS) + " |"
    lines = [f"### {split}: clear cases per source set (F1; positives in brackets)", "", head,
             "|---|---|" + "---|" * (len(names) * len(LABELS))]
    for name, block in per_set.items():
        cells = []
        for system in names:
            for label in LABELS:
                m = block["systems"][system]["labels"][label.value]
                cells.append(f"{m['f1']:.2f} ({m['support']})" if m["support"] else f"– (fp {m['false_positives']})")
        lines.append(f"| {name} | {block['n']} | " + " | ".join(cells) + " |")
    return lines + [""]


def _false_positives(y: np.ndarray, prob: np.ndarray, thresholds: np.ndarray, mask: np.ndarray) -> list[int]:
    return [int(np.sum(reaches(prob[mask[:, j], j], thresholds[j]) & (y[mask[:, j], j] == 0)))
            for j in range(len(LABELS))]


def evaluate(
    model_dir: str | Path | None,
    corpus: str | Path,
    splits: Sequence[str] = ("dev", "test"),
    out_dir: str | Path | None = None,
    baselines: bool = True,
    update_card: bool = False,
    backend: str | None = None,
    config: str | Path | None = "configs/default.yaml",
    realdata: str | Path | None = None,
    real_labels: str | Path = REAL_LABELS,
    real_splits: Sequence[str] = ("test",),
) -> EvalReport:
    """Score the model (and the baselines) on ``splits`` of the corpus and ``real_splits`` of the
    labelled real text; optionally add the numbers to the model card of ``model_dir``.

    ``config`` is the training config whose data the baselines are trained on (the same train
    set as the model, and the same dev set for their thresholds); ``corpus`` overrides its corpus.
    ``backend`` None is the package default (``$MODERATION_BACKEND``, else auto).
    """
    if update_card and model_dir is None:
        raise ValueError("update_card needs model_dir, the folder whose card to rewrite (never the installed package's)")
    moderator = Moderator.from_pretrained(model_dir, backend=backend)
    thresholds = np.array([moderator.thresholds[label] for label in LABELS])
    cfg = load_config(config, [f"data.corpus={corpus}"])
    baseline_note = ""
    if baselines:
        try:
            train, dev = training_sets(cfg.data)
        except RealDataMissing as exc:  # the baselines then see the corpus only, and the report says so
            baseline_note = f" Real-train is unavailable ({exc}), so the baselines were trained on the corpus only."
            cfg.data.real_labels = ""
            train, dev = training_sets(cfg.data)
        tfidf = TfidfLogReg().fit([e.text for e in train], label_matrix(train))
        tfidf_thresholds = tfidf.fit_thresholds([e.text for e in dev], label_matrix(dev))
        rules = KeywordRules()
    data: dict[str, Any] = {"model_version": moderator.version, "backend": moderator.backend, "corpus": str(corpus),
                            "baseline_training": {"config": str(config), "real_labels": cfg.data.real_labels,
                                                  "exclude_batches": cfg.data.exclude_batches},
                            "splits": {}}
    md = [f"# Evaluation of model {moderator.version} ({moderator.backend} backend)", "",
          f"Corpus: `{corpus}`. Thresholds and temperatures (model) and thresholds (TF-IDF) were fitted on "
          "dev, so dev numbers are optimistic; test is untouched. Baselines are trained on the data of "
          f"`{config}` (real-train included: {'yes' if cfg.data.real_labels else 'no'}).{baseline_note}", ""]

    def score(examples: Sequence[Example]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        texts = [e.text for e in examples]
        scored = {"model": (model_scores(moderator, texts), thresholds)}
        if baselines:
            scored["tfidf_logreg"] = (tfidf.predict_proba(texts), tfidf_thresholds)
            scored["keyword_rules"] = (rules.predict_proba(texts), np.full(len(LABELS), 0.5))
        return scored

    for split in splits:
        examples = load_split(corpus, split)
        y, mask = label_matrix(examples), clear_mask(examples)
        scored = score(examples)
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
    for split in real_splits:
        name = f"real-{split}"
        try:
            examples = load_real(split, realdata, real_labels)
        except RealDataMissing as exc:
            md += [f"## {name}", "", f"Skipped: {exc}.", ""]
            data["splits"][name] = {"skipped": str(exc)}
            continue
        y, mask = label_matrix(examples), clear_mask(examples)
        scored = score(examples)
        split_data = {view: {n: report(y, prob, thr, m) for n, (prob, thr) in scored.items()}
                      for view, m in (("all", None), ("clear", mask))}
        per_set = {}
        for set_name in sorted({e.domain for e in examples}):
            rows = np.array([e.domain == set_name for e in examples])
            block = {"n": int(rows.sum()), "systems": {}}
            for n, (prob, thr) in scored.items():
                rep = report(y[rows], prob[rows], thr, mask[rows])
                for label, fp in zip(LABELS, _false_positives(y[rows], prob[rows], thr, mask[rows])):
                    rep["labels"][label.value]["false_positives"] = fp
                block["systems"][n] = rep
            per_set[set_name] = block
        data["splits"][name] = {"n": len(examples), **split_data, "per_set": per_set}
        md += [f"## {name} ({len(examples)} real texts; sets: "
               + ", ".join(f"{k} {v['n']}" for k, v in per_set.items()) + ")", ""]
        md += _table(f"{name}: all texts", split_data["all"])
        md += _table(f"{name}: clear cases only", split_data["clear"])
        md += _per_set_table(name, per_set)
    markdown = "\n".join(md)
    if update_card:
        titles = {"all": "all entries", "clear": "clear cases", "contrast": "contrast sets"}
        write_card(model_dir, model_card(
            moderator.config,
            evaluation={f"{split} ({title})": data["splits"][split][view]["model"]
                        for split in splits for view, title in titles.items() if view in data["splits"][split]},
            baselines={split: {name: rep["macro_f1"] for name, rep in data["splits"][split]["all"].items()}
                       for split in splits} if baselines else {},
            evaluation_backend=moderator.backend.value,
            real={f"real-{split}": data["splits"][f"real-{split}"] for split in real_splits
                  if "per_set" in data["splits"].get(f"real-{split}", {})}))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        (out / "report.md").write_text(markdown + "\n", encoding="utf-8")
    return EvalReport(data=data, markdown=markdown)
