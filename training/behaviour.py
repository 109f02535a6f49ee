"""Behavioural test suite (CheckList / HateCheck style) over ``tests/behavioural/cases.jsonl``.

The cases were written for this suite only and never enter training or tuning.
Each case names one label and the expected value for it. Besides the written
categories, every case is also checked under perturbations that must not change
the answer: zero-width characters, Latin look-alike letters, letter spacing,
and the case buried at the end of a long neutral article (past token 512).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from moderation.labels import LABELS, Label

SUITE_DIR = Path(__file__).resolve().parents[1] / "tests" / "behavioural"

_LOOKALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}


@dataclass(frozen=True)
class Check:
    id: str
    category: str
    label: Label
    expected: int
    text: str


def load_cases(folder: Path = SUITE_DIR) -> list[dict]:
    return [json.loads(l) for l in (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]


def zero_width(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), k=min(6, len(words))):
        w = words[i]
        if len(w) > 3:
            cut = rng.randrange(1, len(w) - 1)
            words[i] = w[:cut] + "\u200b" + w[cut:]
    return " ".join(words)


def homoglyph(text: str, rng: random.Random) -> str:
    chars = list(text)
    spots = [i for i, ch in enumerate(chars) if ch in _LOOKALIKE]
    for i in rng.sample(spots, k=min(len(spots) // 4, 25)):
        chars[i] = _LOOKALIKE[chars[i]]
    return "".join(chars)


def letter_spacing(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    for i in rng.sample(long_words, k=min(3, len(long_words))):
        words[i] = " ".join(words[i])
    return " ".join(words)


def deep_in_article(text: str, fillers: Sequence[str], rng: random.Random) -> str:
    return rng.choice(fillers) + "\n\n" + text


def build_checks(folder: Path = SUITE_DIR, seed: int = 0) -> list[Check]:
    rng = random.Random(seed)
    cases = load_cases(folder)
    fillers = json.loads((folder / "fillers.json").read_text(encoding="utf-8"))
    checks = []
    for case in cases:
        label, expected = Label(case["label"]), int(case["expected"])
        checks.append(Check(case["id"], case["category"], label, expected, case["text"]))
        variants = {
            "perturb_zero_width": zero_width(case["text"], rng),
            "perturb_homoglyph": homoglyph(case["text"], rng),
            "perturb_letter_spacing": letter_spacing(case["text"], rng),
            "perturb_deep_in_article": deep_in_article(case["text"], fillers, rng),
        }
        for category, text in variants.items():
            checks.append(Check(f"{case['id']}/{category}", category, label, expected, text))
    return checks


@dataclass
class SuiteResult:
    per_category: dict[str, tuple[int, int]]  # category -> (passed, total)
    failures: list[Check]

    @property
    def passed(self) -> int:
        return sum(p for p, _ in self.per_category.values())

    @property
    def total(self) -> int:
        return sum(t for _, t in self.per_category.values())

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def table(self) -> str:
        lines = [f"{'category':32} {'pass':>6} {'total':>6} {'rate':>7}"]
        for category, (p, t) in sorted(self.per_category.items()):
            lines.append(f"{category:32} {p:6d} {t:6d} {p / t:7.1%}")
        lines.append(f"{'overall':32} {self.passed:6d} {self.total:6d} {self.rate:7.1%}")
        return "\n".join(lines)


def run_suite(predict: Callable[[list[str]], np.ndarray], checks: Sequence[Check]) -> SuiteResult:
    """``predict`` maps texts to a 0/1 array of shape (n, 3) in ``LABELS`` order."""
    predicted = predict([c.text for c in checks])
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for check, row in zip(checks, predicted):
        ok = int(row[LABELS.index(check.label)]) == check.expected
        counts[check.category][0] += ok
        counts[check.category][1] += 1
        if not ok:
            failures.append(check)
    return SuiteResult({k: (v[0], v[1]) for k, v in counts.items()}, failures)


def moderator_predict(moderator) -> Callable[[list[str]], np.ndarray]:
    def predict(texts: list[str]) -> np.ndarray:
        return np.array([[label in p.labels for label in LABELS] for p in moderator.predict(texts)], dtype=int)

    return predict


def baseline_predict(name: str, corpus: Path) -> Callable[[list[str]], np.ndarray]:
    """A baseline of the evaluation report, trained on the corpus's train split (thresholds on dev)."""
    from .baselines import KeywordRules, TfidfLogReg
    from .data import label_matrix, load_split

    if name == "keywords":
        rules = KeywordRules()
        return lambda texts: (rules.predict_proba(texts) >= 0.5).astype(int)
    train, dev = load_split(corpus, "train"), load_split(corpus, "dev")
    tfidf = TfidfLogReg().fit([e.text for e in train], label_matrix(train))
    thresholds = tfidf.fit_thresholds([e.text for e in dev], label_matrix(dev))
    return lambda texts: (tfidf.predict_proba(texts) >= thresholds).astype(int)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training.behaviour", description="Run the behavioural suite.")
    parser.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    parser.add_argument("--failures", action="store_true", help="list the failing checks")
    parser.add_argument("--backend", default=None, help="fp32, bf16, int8 or auto (default: the package default)")
    parser.add_argument("--baseline", choices=("tfidf", "keywords"), default=None,
                        help="run a baseline instead of the model (TF-IDF is trained on --corpus)")
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parent / "data" / "corpus.jsonl")
    args = parser.parse_args(argv)
    if args.baseline:
        predict = baseline_predict(args.baseline, args.corpus)
    else:
        from moderation.model import Moderator

        predict = moderator_predict(Moderator.from_pretrained(args.model, backend=args.backend))
    result = run_suite(predict, build_checks())
    print(result.table())
    if args.failures:
        for check in result.failures:
            print(f"FAIL {check.id} ({check.label.value} expected {check.expected}): {check.text[:160]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
