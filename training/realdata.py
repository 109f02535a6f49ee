"""Real published text: the shared pool joined to the project's own labels.

The texts live outside the repository (``../shared/realdata/pool.jsonl``, or the
path in ``$MODERATION_REALDATA`` or given by flag) and are never committed; the
project commits only ids, labels, ``ambiguous``, a one-line ``why`` and the
split (``training/data/real_labels.jsonl``). Rules kept here, in code:

- ids listed in ``reserved_ids.txt`` are never sampled, labelled or loaded;
- records of ``eval-only`` sets never reach a training split;
- a split holds whole groups (event or story), so no event spans two splits.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from moderation.labels import LABELS, Label

from .data import Example, load_split, read_jsonl

DATA_DIR = Path(__file__).parent / "data"
REAL_LABELS = DATA_DIR / "real_labels.jsonl"
REAL_ANNOTATIONS = DATA_DIR / "real_annotations.jsonl"
ENV = "MODERATION_REALDATA"
DEFAULT_DIRS = ("../shared/realdata", "../../shared/realdata")
SPLITS = ("train", "dev", "test")


class RealDataMissing(RuntimeError):
    """The real-text folder is not on this machine (evaluation on it is skipped)."""


def find_realdata(path: str | Path | None = None) -> Path:
    """The folder holding ``pool.jsonl``: the given path, ``$MODERATION_REALDATA``, or ``../shared/realdata``."""
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path))
    elif os.environ.get(ENV):
        candidates.append(Path(os.environ[ENV]))
    else:
        here = Path(__file__).resolve().parent.parent  # the repository
        for base in (here, Path.cwd().resolve()):
            candidates += [c for c in ((base / d).resolve() for d in DEFAULT_DIRS) if c not in candidates]
    for c in candidates:
        folder = c.parent if c.name == "pool.jsonl" else c
        if (folder / "pool.jsonl").is_file():
            return folder
    where = ", ".join(str(c) for c in candidates)
    raise RealDataMissing(f"real-text pool not found (looked in {where}); set ${ENV} or pass its folder")


@dataclass(frozen=True)
class PoolRecord:
    id: str
    set: str
    text: str
    use: str  # "train+eval" or "eval-only"
    proxy: dict


def reserved_ids(folder: Path) -> set[str]:
    path = folder / "reserved_ids.txt"
    return set(path.read_text(encoding="utf-8").split()) if path.is_file() else set()


def read_pool(folder: Path, ids: Iterable[str] | None = None) -> dict[str, PoolRecord]:
    """Pool records by id (only ``ids`` when given); reserved ids are never returned."""
    wanted = set(ids) if ids is not None else None
    held_back = reserved_ids(folder)
    out: dict[str, PoolRecord] = {}
    with open(folder / "pool.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            rid = row["id"]
            if rid in held_back or (wanted is not None and rid not in wanted):
                continue
            out[rid] = PoolRecord(rid, row["set"], row["text"], row["use"], row.get("proxy") or {})
    return out


def group_of(rec: PoolRecord) -> str:
    """The event or story a record belongs to: splits hold whole groups."""
    p = rec.proxy
    if rec.set in ("pheme", "clx") and p.get("event"):
        return f"{rec.set}:{p['event']}"
    if rec.set == "drm" and p.get("event") not in (None, "", "NULL"):
        return f"drm:{p['event']}"
    if rec.set == "emg" and p.get("claim"):
        return "emg:" + re.sub(r"\W+", " ", p["claim"].lower()).strip()
    return rec.id  # one article, one story


# -- the committed labels ----------------------------------------------------------------------------


def read_labels(path: str | Path = REAL_LABELS) -> list[dict]:
    rows = read_jsonl(path)
    for row in rows:
        for label in LABELS:
            if row.get(label.value) not in (0, 1):
                raise ValueError(f"{path}: {row.get('id')}: {label.value} must be 0 or 1")
        if row.get("split") not in SPLITS:
            raise ValueError(f"{path}: {row.get('id')}: split must be one of {SPLITS}")
    return rows


def load_real(
    split: str | None = None,
    realdata: str | Path | None = None,
    labels: str | Path = REAL_LABELS,
    sets: Sequence[str] | None = None,
) -> list[Example]:
    """Labelled real texts of one split (all splits when None) as :class:`Example` s.

    Raises :class:`RealDataMissing` when the pool is absent. ``Example.domain`` holds the
    source set, so per-set metrics come from the same field as the corpus's domains.
    """
    folder = find_realdata(realdata)
    rows = [r for r in read_labels(labels) if split is None or r["split"] == split]
    if sets is not None:
        rows = [r for r in rows if r["id"].split(":", 1)[0] in set(sets)]
    pool = read_pool(folder, (r["id"] for r in rows))
    out = []
    for row in rows:
        rec = pool.get(row["id"])
        if rec is None:  # reserved, or not in this copy of the pool
            continue
        if row["split"] == "train" and rec.use != "train+eval":
            raise ValueError(f"{labels}: {rec.id} is from eval-only set {rec.set!r} but in split train")
        out.append(
            Example(
                id=rec.id,
                text=rec.text,
                labels=tuple(int(row[label.value]) for label in LABELS),
                ambiguous=tuple(Label(a) for a in row.get("ambiguous") or ()),
                domain=rec.set,
                split=row["split"],
                raw={**row, "set": rec.set, "use": rec.use},
            )
        )
    return out


def is_real(example: Example) -> bool:
    """Whether an example is a real text of the pool (rather than a corpus entry)."""
    return "use" in example.raw


def _clear_positives(rows: Sequence[dict]) -> dict[str, int]:
    return {label.value: sum(1 for r in rows if r[label.value] == 1 and label.value not in r.get("ambiguous", []))
            for label in LABELS}


def describe(rows: Sequence[dict]) -> dict:
    """Counts per split, set and label (clear positives), for cards and notes."""
    out: dict = {"n": len(rows), "splits": {}, "sets": dict(Counter(r["id"].split(":", 1)[0] for r in rows))}
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        out["splits"][split] = {"n": len(part), "sets": dict(sorted(Counter(r["id"].split(":", 1)[0] for r in part).items())),
                                "clear_positives": _clear_positives(part)}
    out["clear_positives"] = _clear_positives(rows)
    return out


def training_sets(data_args) -> tuple[list[Example], list[Example]]:
    """The (train, dev) examples a config trains and selects on: corpus splits, plus real-train
    (repeated ``real_weight`` times) and the real-dev texts of ``train+eval`` sets when
    ``real_labels`` is set. Eval-only sets never enter either: not training, not the dev set on
    which thresholds and temperatures are fitted."""
    train = load_split(data_args.corpus, data_args.train_split, data_args.exclude_batches)
    dev = load_split(data_args.corpus, data_args.dev_split, data_args.exclude_batches)
    if data_args.real_labels:
        real = [e for e in load_real(None, data_args.realdata or None, data_args.real_labels)
                if e.raw["use"] == "train+eval"]
        train = train + [e for e in real if e.split == "train"] * max(1, data_args.real_weight)
        dev = dev + [e for e in real if e.split == "dev"]
    return train, dev
