"""Building and checking the labelled corpus (``training/data/corpus.jsonl``).

``python -m moderation_training.corpus build BATCH.jsonl ...``  merges batch files into the
corpus and assigns splits by story: stories are first joined with any
story they share near-duplicate text with, then each group goes whole to train,
dev or test, so variants of one story never straddle two splits.

``python -m moderation_training.corpus check``  validates the corpus against the rules of the
dataset card and exits non-zero when any rule is broken.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from moderation.labels import LABELS

DATA_DIR = Path(__file__).parent / "data"
CORPUS = DATA_DIR / "corpus.jsonl"
SPLITS = ("train", "dev", "test")
SPLIT_SHARE = {"train": 0.8, "dev": 0.1, "test": 0.1}
REQUIRED = {"id": str, "text": str, "ambiguous": list, "domain": str, "split": str}
OPTIONAL = {"style": str, "story": str, "hard": list, "why": str, "source": str}
NEAR_DUP = 0.7  # word 5-gram shingle Jaccard at which two entries count as near-duplicates
LEAK = 0.5  # across splits, even this much overlap counts as leakage
RULES = {
    "min_entries": 3000,
    "min_positives": 600,
    "min_multi": 150,
    "min_none": 1000,
    "min_hard_share": 0.30,
    "min_domains": 15,
    "min_long_share": 0.10,
    "long_words": 400,
    "split_share_tolerance": 0.05,  # each split's share of entries may differ this much from SPLIT_SHARE
}

_WORD = re.compile(r"\w+", re.UNICODE)
ARTEFACT = re.compile(r"\w\.example\b", re.IGNORECASE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(text: str, n: int = 5) -> set[int]:
    w = words(text)
    if len(w) < n:
        return {hash(" ".join(w))} if w else set()
    return {hash(" ".join(w[i : i + n])) for i in range(len(w) - n + 1)}


def similar_pairs(texts: Sequence[str], threshold: float, max_df: int = 50) -> list[tuple[int, int, float]]:
    """Pairs of texts whose 5-gram shingle Jaccard is at least ``threshold`` (inverted index)."""
    sets = [shingles(t) for t in texts]
    index: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for h in s:
            index[h].append(i)
    shared: Counter = Counter()
    for docs in index.values():
        if 1 < len(docs) <= max_df:
            for a in range(len(docs)):
                for b in range(a + 1, len(docs)):
                    shared[(docs[a], docs[b])] += 1
    out = []
    for (a, b), inter in shared.items():
        union = len(sets[a]) + len(sets[b]) - inter
        j = inter / union if union else 0.0
        if j >= threshold:
            out.append((a, b, j))
    return out


def read_rows(path: Path) -> list[dict]:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{lineno}: invalid JSON ({exc.msg})")
    return rows


def write_rows(path: Path, rows: Iterable[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


# -- split assignment ------------------------------------------------------------------
class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def split_for(group: str) -> str:
    bucket = int(hashlib.sha256(group.encode()).hexdigest(), 16) % 1000 / 1000
    if bucket < SPLIT_SHARE["train"]:
        return "train"
    return "dev" if bucket < SPLIT_SHARE["train"] + SPLIT_SHARE["dev"] else "test"


def assign_splits(rows: list[dict]) -> None:
    """Give every row a split; rows of one story, or with overlapping text, share it."""
    uf = _UnionFind()
    for row in rows:
        uf.find(row.get("story") or row["id"])
    for a, b, _ in similar_pairs([r["text"] for r in rows], threshold=0.3):
        uf.union(rows[a].get("story") or rows[a]["id"], rows[b].get("story") or rows[b]["id"])
    for row in rows:
        row["split"] = split_for(uf.find(row.get("story") or row["id"]))


def normalise_row(row: dict) -> dict:
    out = {"id": str(row["id"]), "text": row["text"]}
    for label in LABELS:
        out[label.value] = int(row[label.value])
    out["ambiguous"] = sorted(set(row.get("ambiguous") or []))
    for key in ("domain", "style", "story", "hard", "why"):
        if key in row:
            out[key] = row[key]
    out["split"] = row.get("split", "")
    return out


def build(batches: Sequence[Path] = (), corpus: Path = CORPUS) -> list[dict]:
    """Merge batch files into the corpus, drop near-duplicates (keeping the first), assign splits."""
    rows = read_rows(corpus) if corpus.exists() else []
    for path in batches:
        rows.extend(normalise_row(r) for r in read_rows(path))
    drop = {b for _, b, _ in similar_pairs([r["text"] for r in rows], NEAR_DUP)}
    rows = [r for i, r in enumerate(rows) if i not in drop]
    assign_splits(rows)
    write_rows(corpus, rows)
    return rows


# -- checking ------------------------------------------------------------------------
@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_rows(rows: list[dict], rules: dict = RULES) -> CheckResult:
    res = CheckResult()
    err = res.errors.append
    names = [label.value for label in LABELS]
    seen: set[str] = set()
    for i, row in enumerate(rows, start=1):
        where = f"line {i} (id {row.get('id')!r})"
        if not isinstance(row, dict):
            err(f"line {i}: not an object")
            continue
        for key, typ in REQUIRED.items():
            if not isinstance(row.get(key), typ):
                err(f"{where}: field {key!r} missing or not {typ.__name__}")
        for key, typ in OPTIONAL.items():
            if key in row and not isinstance(row[key], typ):
                err(f"{where}: field {key!r} is not {typ.__name__}")
        for name in names:
            if row.get(name) not in (0, 1) or isinstance(row.get(name), bool):
                err(f"{where}: {name} must be 0 or 1")
        for a in row.get("ambiguous") or []:
            if a not in names:
                err(f"{where}: unknown label {a!r} in ambiguous")
        for h in row.get("hard") or []:
            if h not in names:
                err(f"{where}: unknown label {h!r} in hard")
        if row.get("split") not in SPLITS:
            err(f"{where}: split must be one of {SPLITS}")
        if isinstance(row.get("text"), str) and not row["text"].strip():
            err(f"{where}: empty text")
        if isinstance(row.get("text"), str) and ARTEFACT.search(row["text"]):
            err(f"{where}: made-up '.example' address (real text has real domains; the model learnt the artefact)")
        if row.get("id") in seen:
            err(f"{where}: duplicate id")
        seen.add(row.get("id"))
    if res.errors:
        return res

    n = len(rows)
    pos = {name: sum(r[name] for r in rows) for name in names}
    multi = sum(sum(r[name] for name in names) >= 2 for r in rows)
    none = sum(sum(r[name] for name in names) == 0 for r in rows)
    long_ = sum(len(words(r["text"])) > rules["long_words"] for r in rows)
    domains = Counter(r["domain"] for r in rows)
    splits = Counter(r["split"] for r in rows)
    hard_share = {}
    for name in names:
        negatives = [r for r in rows if r[name] == 0]
        hard = sum(name in (r.get("hard") or []) for r in negatives)
        hard_share[name] = hard / len(negatives) if negatives else 0.0
    res.stats = {
        "entries": n,
        "positives": pos,
        "multi_label": multi,
        "none": none,
        "long_over_400_words": long_,
        "hard_negative_share": {k: round(v, 3) for k, v in hard_share.items()},
        "ambiguous": {name: sum(name in r["ambiguous"] for r in rows) for name in names},
        "splits": dict(splits),
        "domains": dict(domains.most_common()),
        "split_positives": {
            s: {name: sum(r[name] for r in rows if r["split"] == s) for name in names} for s in SPLITS
        },
    }
    if n < rules["min_entries"]:
        err(f"{n} entries, need at least {rules['min_entries']}")
    for name in names:
        if pos[name] < rules["min_positives"]:
            err(f"{name}: {pos[name]} positives, need at least {rules['min_positives']}")
        if hard_share[name] < rules["min_hard_share"]:
            err(f"{name}: hard negatives are {hard_share[name]:.0%} of negatives, need {rules['min_hard_share']:.0%}")
    if multi < rules["min_multi"]:
        err(f"{multi} entries with two or more labels, need {rules['min_multi']}")
    if none < rules["min_none"]:
        err(f"{none} entries with no label, need {rules['min_none']}")
    if len(domains) < rules["min_domains"]:
        err(f"{len(domains)} domains, need {rules['min_domains']}")
    if long_ < rules["min_long_share"] * n:
        err(f"{long_} entries over {rules['long_words']} words, need {rules['min_long_share']:.0%} of {n}")
    for s in SPLITS:
        share = splits.get(s, 0) / n
        if abs(share - SPLIT_SHARE[s]) > rules["split_share_tolerance"]:
            err(f"split {s} holds {share:.1%} of entries, expected about {SPLIT_SHARE[s]:.0%}")

    # duplicates and leakage
    texts = [" ".join(words(r["text"])) for r in rows]
    exact = Counter(texts)
    for text, count in exact.items():
        if count > 1:
            err(f"{count} entries share the same text: {text[:60]!r}")
    for a, b, j in similar_pairs([r["text"] for r in rows], LEAK):
        ra, rb = rows[a], rows[b]
        if j >= NEAR_DUP:
            err(f"near-duplicates {ra['id']} and {rb['id']} (Jaccard {j:.2f})")
        elif ra["split"] != rb["split"]:
            err(f"leak: {ra['id']} ({ra['split']}) and {rb['id']} ({rb['split']}) overlap (Jaccard {j:.2f})")
    stories: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.get("story"):
            stories[r["story"]].add(r["split"])
    for story, in_splits in stories.items():
        if len(in_splits) > 1:
            err(f"leak: story {story} is in splits {sorted(in_splits)}")
    return res


CARD = DATA_DIR / "README.md"
CARD_START, CARD_END = "<!-- counts:start -->", "<!-- counts:end -->"


def counts_markdown(rows: list[dict]) -> str:
    """The dataset card's counts section: per label, split and domain."""
    names = [label.value for label in LABELS]
    lines = ["| split | entries | " + " | ".join(f"`{n}`" for n in names) + " | two or more | none | over 400 words |",
             "|---" * (len(names) + 5) + "|"]
    for split in (*SPLITS, None):
        part = [r for r in rows if split is None or r["split"] == split]
        lines.append(
            f"| {split or '**all**'} | {len(part)} | "
            + " | ".join(str(sum(r[n] for r in part)) for n in names)
            + f" | {sum(sum(r[n] for n in names) >= 2 for r in part)}"
            + f" | {sum(sum(r[n] for n in names) == 0 for r in part)}"
            + f" | {sum(len(words(r['text'])) > RULES['long_words'] for r in part)} |"
        )
    lines += ["", "| label | ambiguous | hard negatives (share of negatives) |", "|---|---|---|"]
    for n in names:
        neg = [r for r in rows if r[n] == 0]
        hard = sum(n in (r.get("hard") or []) for r in neg)
        amb = sum(n in r["ambiguous"] for r in rows)
        lines.append(f"| `{n}` | {amb} | {hard} ({hard / max(1, len(neg)):.0%}) |")
    lines += ["", "| domain | entries | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 2) + "|"]
    for domain, count in Counter(r["domain"] for r in rows).most_common():
        part = [r for r in rows if r["domain"] == domain]
        lines.append(f"| {domain} | {count} | " + " | ".join(str(sum(r[n] for r in part)) for n in names) + " |")
    lines += ["", "| style | entries |", "|---|---|"]
    for style, count in Counter(r.get("style", "") for r in rows).most_common():
        lines.append(f"| {style or '(none)'} | {count} |")
    return "\n".join(lines)


def update_card(rows: list[dict], card: Path = CARD) -> bool:
    """Rewrite the counts section of the dataset card; True if it changed."""
    text = card.read_text(encoding="utf-8")
    start, end = text.index(CARD_START) + len(CARD_START), text.index(CARD_END)
    new = text[:start] + "\n" + counts_markdown(rows) + "\n" + text[end:]
    card.write_text(new, encoding="utf-8")
    return new != text


def check(path: Path = CORPUS, rules: dict = RULES) -> CheckResult:
    return check_rows(read_rows(path), rules)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation_training.corpus", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="merge batch files into the corpus and (re)assign splits")
    b.add_argument("batches", type=Path, nargs="*")
    b.add_argument("--corpus", type=Path, default=CORPUS)
    k = sub.add_parser("card", help="rewrite the counts section of the dataset card")
    k.add_argument("--corpus", type=Path, default=CORPUS)
    c = sub.add_parser("check", help="validate the corpus; exit 1 when a rule is broken")
    c.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if args.cmd == "build":
        rows = build(args.batches, args.corpus)
        print(f"wrote {len(rows)} entries to {args.corpus}")
        return 0
    if args.cmd == "card":
        changed = update_card(read_rows(args.corpus))
        print(f"{CARD}: " + ("updated" if changed else "already up to date"))
        return 0
    res = check(args.corpus)
    print(json.dumps(res.stats, indent=2))
    for e in res.errors:
        print(f"FAIL: {e}", file=sys.stderr)
    print("corpus check: " + ("ok" if res.ok else f"{len(res.errors)} problems"), file=sys.stderr)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
