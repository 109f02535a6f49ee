"""Per-label metrics: precision, recall, F1, AUPRC, expected calibration error."""

from __future__ import annotations

from typing import Any

import numpy as np

from moderation.labels import LABELS, reaches


def prf(y: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    tp = int(np.sum((pred == 1) & (y == 1)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def auprc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    if y.sum() == 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    y = y[order]
    tp = np.cumsum(y)
    precision = tp / np.arange(1, len(y) + 1)
    return float(np.sum(precision * y) / y.sum())


def ece(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of a binary probability with equal-width bins."""
    if len(y) == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(prob, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.mean() * abs(prob[sel].mean() - y[sel].mean())
    return float(total)


def report(y: np.ndarray, prob: np.ndarray, thresholds: np.ndarray, mask: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics per label and macro-F1. ``mask`` keeps only some cells (e.g. the clear cases)."""
    out: dict[str, Any] = {"labels": {}}
    f1s = []
    for j, label in enumerate(LABELS):
        keep = mask[:, j] if mask is not None else np.ones(len(y), dtype=bool)
        yj, pj = y[keep, j], prob[keep, j]
        pred = reaches(pj, thresholds[j]).astype(int)
        p, r, f = prf(yj, pred)
        f1s.append(f)
        out["labels"][label.value] = {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "auprc": round(auprc(yj, pj), 4),
            "ece": round(ece(yj, pj), 4),
            "support": int(yj.sum()),
            "n": int(len(yj)),
        }
    out["macro_f1"] = round(float(np.mean(f1s)), 4)
    return out
