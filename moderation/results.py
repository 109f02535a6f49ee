"""Typed results: what the package hands back to callers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from .labels import LABELS, Label


def _frozen(mapping: Mapping[Label, float]) -> Mapping[Label, float]:
    return MappingProxyType({label: float(mapping[label]) for label in LABELS if label in mapping})


@dataclass(frozen=True)
class Prediction:
    """The model's verdict on one piece of text.

    ``scores`` are calibrated probabilities per label, ``labels`` the labels whose
    score reached its threshold (in the package's label order), ``warnings`` the
    reader-facing warning texts the policy attaches to those labels.
    """

    scores: Mapping[Label, float]
    labels: tuple[Label, ...]
    warnings: tuple[str, ...]
    model_version: str
    thresholds: Mapping[Label, float] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", _frozen(self.scores))
        object.__setattr__(self, "thresholds", _frozen(self.thresholds))
        present = {Label(label) for label in self.labels}
        object.__setattr__(self, "labels", tuple(label for label in LABELS if label in present))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def __contains__(self, label: object) -> bool:
        return label in self.labels

    @property
    def flagged(self) -> bool:
        return bool(self.labels)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by every output format."""
        return {
            "scores": {label.value: round(score, 6) for label, score in self.scores.items()},
            "labels": [label.value for label in self.labels],
            "warnings": list(self.warnings),
            "model_version": self.model_version,
        }


@dataclass(frozen=True)
class Entry:
    """One unit of published text: a live-blog post, a lead article or an archive record.

    ``text`` is the original text as received (headline line included); it is what
    the model reads and what outputs keep.
    """

    id: str
    text: str
    headline: str | None = None
    author: str | None = None
    source: str | None = None  # file name, or None for in-memory text

    @property
    def key(self) -> str:
        """A stable name for the entry: a short hash of its author and text, unchanged when other
        posts are added around it (``id`` is its position in the document)."""
        return hashlib.sha1(f"{self.author or ''}\n{self.text}".encode("utf-8", "surrogatepass")).hexdigest()[:8]


@dataclass(frozen=True)
class ScreenedEntry:
    """An entry together with the model's prediction for it."""

    entry: Entry
    prediction: Prediction

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "key": self.entry.key,
            "headline": self.entry.headline,
            "author": self.entry.author,
            "text": self.entry.text,
            **self.prediction.to_dict(),
        }
