"""Reading the labelled corpus."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from moderation.labels import LABELS, Label


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    labels: tuple[int, int, int]  # in LABELS order
    ambiguous: tuple[Label, ...]
    domain: str
    split: str
    raw: dict


def read_jsonl(path: str | Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
    return rows


def to_example(row: dict) -> Example:
    return Example(
        id=str(row["id"]),
        text=row["text"],
        labels=tuple(int(row[label.value]) for label in LABELS),
        ambiguous=tuple(Label(a) for a in row.get("ambiguous") or ()),
        domain=row.get("domain", ""),
        split=row.get("split", ""),
        raw=row,
    )


def batch_of(entry_id: str) -> str:
    """The batch that wrote an entry: its id without the running number (``cx_ur-0012`` -> ``cx_ur``)."""
    return entry_id.rsplit("-", 1)[0]


def load_split(path: str | Path, split: str, exclude_batches: Sequence[str] = ()) -> list[Example]:
    skip = set(exclude_batches)
    examples = [to_example(r) for r in read_jsonl(path)
                if r.get("split") == split and batch_of(str(r["id"])) not in skip]
    if not examples:
        raise ValueError(f"{path}: no entries in split {split!r}")
    return examples


def label_matrix(examples: Sequence[Example]) -> np.ndarray:
    return np.array([e.labels for e in examples], dtype=np.int64).reshape(-1, len(LABELS))


def clear_mask(examples: Sequence[Example]) -> np.ndarray:
    """``mask[i, j]`` is True when example ``i`` is not marked ambiguous for label ``j``."""
    return np.array([[label not in e.ambiguous for label in LABELS] for e in examples], dtype=bool).reshape(
        -1, len(LABELS)
    )


def contrast_mask(examples: Sequence[Example]) -> np.ndarray:
    """True for entries whose story holds another entry with a different value of some label."""
    from collections import defaultdict

    by_story: dict[str, set[tuple[int, ...]]] = defaultdict(set)
    for e in examples:
        if e.raw.get("story"):
            by_story[e.raw["story"]].add(e.labels)
    return np.array([len(by_story.get(e.raw.get("story") or "", ())) > 1 for e in examples], dtype=bool)
