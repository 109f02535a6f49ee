"""Two independent labellers, then adjudication: ``python -m moderation_training.agreement``.

``kappa``      Cohen's kappa per label between labellers A and B (from
               ``real_annotations.jsonl``, which holds each labeller's own labels).
``merge``      Combine both labellers' files into ``real_annotations.jsonl`` and write the
               disagreements (ids only) for adjudication.
``finalise``   Build ``real_labels.jsonl``: where A and B agree, their value (ambiguous when both
               said so); where they differ, the adjudicator's value and ambiguity.

Only ids, labels, ``ambiguous`` and a one-line ``why`` in the labellers' own words are
written: never the texts.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Sequence

from moderation.labels import LABELS

from .data import read_jsonl
from .realdata import REAL_ANNOTATIONS, REAL_LABELS

NAMES = [label.value for label in LABELS]


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float:
    """Cohen's kappa of two binary raters; 1.0 when both are constant and equal."""
    n = len(a)
    if n == 0 or n != len(b):
        raise ValueError("kappa needs two equally long, non-empty sequences")
    observed = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def pairs(annotations: Sequence[dict]) -> dict[str, dict[str, dict]]:
    """``{id: {"A": row, "B": row}}`` for ids labelled by both."""
    by_id: dict[str, dict[str, dict]] = {}
    for row in annotations:
        by_id.setdefault(row["id"], {})[row["labeller"]] = row
    return {i: p for i, p in by_id.items() if {"A", "B"} <= set(p)}


def kappas(annotations: Sequence[dict]) -> dict[str, dict]:
    both = pairs(annotations)
    out = {}
    for name in NAMES:
        a = [p["A"][name] for p in both.values()]
        b = [p["B"][name] for p in both.values()]
        out[name] = {
            "kappa": round(cohen_kappa(a, b), 3),
            "agreement": round(sum(x == y for x, y in zip(a, b)) / len(a), 3),
            "positives_A": sum(a),
            "positives_B": sum(b),
            "n": len(a),
        }
    return out


def merge(outputs: Sequence[Path], sample: Path, annotations: Path, disagreements: Path) -> dict:
    wanted = {r["id"] for r in read_jsonl(sample)}
    rows = []
    for path in outputs:
        labeller = path.stem.rsplit("_", 1)[1]
        seen = set()
        for r in read_jsonl(path):
            if r["id"] not in wanted or r["id"] in seen:
                continue
            seen.add(r["id"])
            rows.append({"id": r["id"], "labeller": labeller, **{n: int(r[n]) for n in NAMES},
                         "ambiguous": sorted(a for a in r.get("ambiguous") or [] if a in NAMES),
                         "why": " ".join(str(r.get("why", "")).split())})
    rows.sort(key=lambda r: (r["id"], r["labeller"]))
    with open(annotations, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    both = pairs(rows)
    differ = sorted(i for i, p in both.items() if any(p["A"][n] != p["B"][n] for n in NAMES))
    disagreements.write_text("".join(i + "\n" for i in differ), encoding="utf-8")
    return {"annotations": len(rows), "both": len(both), "missing": sorted(wanted - set(both)),
            "disagreements": len(differ)}


def finalise(annotations: Path, adjudicated: Path | None, sample: Path, out: Path) -> dict:
    rows = read_jsonl(annotations)
    both = pairs(rows)
    decided = {r["id"]: r for r in read_jsonl(adjudicated)} if adjudicated else {}
    plan = {r["id"]: r for r in read_jsonl(sample)}
    final, how = [], Counter()
    for rid, p in sorted(both.items()):
        a, b = p["A"], p["B"]
        if all(a[n] == b[n] for n in NAMES):
            labels = {n: a[n] for n in NAMES}
            ambiguous = sorted(set(a["ambiguous"]) & set(b["ambiguous"]))
            why, source = a["why"], "agreed"
        elif rid in decided:
            d = decided[rid]
            labels = {n: int(d[n]) for n in NAMES}
            # labels the labellers agreed on keep their agreement; the adjudicator rules on the rest
            ambiguous = sorted(set(d.get("ambiguous") or []) | {n for n in set(a["ambiguous"]) & set(b["ambiguous"])
                                                                  if a[n] == b[n]})
            why, source = " ".join(str(d.get("why", "")).split()), "adjudicated"
        else:
            how["undecided"] += 1
            continue
        how[source] += 1
        s = plan[rid]
        final.append({"id": rid, **labels, "ambiguous": ambiguous, "why": why, "split": s["split"],
                      "group": s["group"], "stratum": s["stratum"], "source": source})
    with open(out, "w", encoding="utf-8") as fh:
        for r in final:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return {"written": len(final), **how}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Inter-annotator agreement and adjudication of the real-text labels.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kappa")
    k.add_argument("--annotations", type=Path, default=REAL_ANNOTATIONS)
    m = sub.add_parser("merge")
    m.add_argument("outputs", type=Path, nargs="+", help="labeller files named *_A.jsonl / *_B.jsonl")
    m.add_argument("--sample", type=Path, default=Path("training/data/real_sample.jsonl"))
    m.add_argument("--annotations", type=Path, default=REAL_ANNOTATIONS)
    m.add_argument("--disagreements", type=Path, required=True)
    f = sub.add_parser("finalise")
    f.add_argument("--annotations", type=Path, default=REAL_ANNOTATIONS)
    f.add_argument("--adjudicated", type=Path, default=None)
    f.add_argument("--sample", type=Path, default=Path("training/data/real_sample.jsonl"))
    f.add_argument("--out", type=Path, default=REAL_LABELS)
    args = ap.parse_args(argv)
    if args.cmd == "kappa":
        result = kappas(read_jsonl(args.annotations))
    elif args.cmd == "merge":
        result = merge(args.outputs, args.sample, args.annotations, args.disagreements)
    else:
        result = finalise(args.annotations, args.adjudicated, args.sample, args.out)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
