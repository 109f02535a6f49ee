"""Per-label temperature scaling and decision thresholds, fitted on the dev split."""

from __future__ import annotations

import numpy as np

from moderation.labels import reaches

from .metrics import prf


def _nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    z = logits / t
    # log(1 + exp(-z)) for y=1, log(1 + exp(z)) for y=0, computed stably (and 0, not nan, for an
    # empty text's -inf logit when y=0)
    return float(np.mean(np.where(y == 1, np.logaddexp(0.0, -z), np.logaddexp(0.0, z))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the dev log-loss of ``sigmoid(logit / T)``."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 400))
    losses = [_nll(logits, y, t) for t in grid]
    return float(grid[int(np.argmin(losses))])


def fit_threshold(prob: np.ndarray, y: np.ndarray, low: float = 0.05, high: float = 0.95) -> float:
    """The probability threshold with the best F1 on dev (midpoint of the best plateau)."""
    candidates = np.unique(np.clip(np.concatenate([prob, [0.5]]), low, high))
    scores = np.array([prf(y, reaches(prob, c).astype(int))[2] for c in candidates])
    best = scores.max()
    winners = candidates[scores >= best - 1e-9]
    # midpoint between the best candidate and the next-lower score, for a margin on unseen data
    t = float(winners[len(winners) // 2])
    below = prob[~reaches(prob, t)]  # the scores that t does not label
    if below.size:
        t = float((t + below.max()) / 2)
    return float(np.clip(t, low, high))


def fit_calibration(logits: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-label temperatures (dev log-loss) and best-F1 thresholds on dev logits, shape ``(n, labels)``."""
    temps = np.array([fit_temperature(logits[:, j], y[:, j]) for j in range(y.shape[1])])
    probs = sigmoid(logits / temps)
    thresholds = np.array([fit_threshold(probs[:, j], y[:, j]) for j in range(y.shape[1])])
    return temps, thresholds


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
