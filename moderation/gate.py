"""The publication gate: which labels stop an entry from going out, and which entries trip it.

Usage::

    gate = Gate.parse("graphic_violence,solicitation")
    hits = gate.check(moderator.screen(text))   # [GateHit(entry_id="3", label=Label.SOLICITATION)]
    if hits:
        print(describe(hits))                    # gate: 1 flagged (3:solicitation)

``moderation screen --fail-on`` is this gate: exit 1 when ``check`` finds anything, 0 when it finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

from .labels import LABELS, Label
from .results import ScreenedEntry

LABEL_NAMES = ", ".join(label.value for label in LABELS)


class GateError(ValueError):
    """A gate that names no label, or a label that does not exist."""


class GateHit(NamedTuple):
    """One gated label found on one entry."""

    entry_id: str
    label: Label


@dataclass(frozen=True)
class Gate:
    """The labels that stop publication; never empty (an empty gate would pass everything)."""

    labels: tuple[Label, ...]

    def __post_init__(self) -> None:
        labels = tuple(dict.fromkeys(Label(label) for label in self.labels))
        if not labels:
            raise GateError(f"a gate needs at least one label ({LABEL_NAMES})")
        object.__setattr__(self, "labels", labels)

    @classmethod
    def parse(cls, spec: str, option: str = "the gate") -> "Gate":
        """A gate from ``"label[,label...]"``; ``GateError`` naming ``option`` for an empty or unknown spec."""
        try:
            labels = Label.parse(spec)
        except ValueError as exc:
            raise GateError(f"{option}: {exc}") from None
        if not labels:
            raise GateError(f"{option} needs at least one label ({LABEL_NAMES})")
        return cls(labels)

    def check(self, items: Iterable[ScreenedEntry]) -> list[GateHit]:
        """Every (entry, label) of ``items`` that the gate stops, in document order."""
        return [GateHit(item.entry.id, label) for item in items for label in item.prediction.labels
                if label in self.labels]


def describe(hits: Sequence[GateHit]) -> str:
    """One line naming what tripped the gate: ``gate: 2 flagged (3:solicitation, 5:graphic_violence)``."""
    listed = ", ".join(f"{hit.entry_id}:{hit.label.value}" for hit in hits)
    return f"gate: {len(hits)} flagged ({listed})"
