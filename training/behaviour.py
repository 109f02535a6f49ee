"""Behavioural test suite (CheckList / HateCheck style) over ``tests/behavioural/cases.jsonl``.

The cases were written for this suite only and never enter training or tuning.
Each case names one label and the expected value for it. Besides the written
categories, every case is also checked under perturbations that must not change
the answer: zero-width characters, Latin look-alike letters, letter spacing,
and the case buried at the end of a long neutral article (past token 512).

Obfuscation families rewrite the case's cue sentence (the sentence that differs
from its minimal-pair partner, else the longest sentence) the way people dodge
filters: leetspeak ("sh0t"), look-alike letters from outside Cyrillic and Greek
("ɑ ᴏ ҽ ı ո ꜱ"), letters split by dots, hyphens, underscores or asterisks
("s.h.o.t"), double-spaced letters ("s  h  o  t") and the whole sentence spelt
letter by letter. Each is a check that the clean case's label holds, reported as
its own category (``obfuscation_*``).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from moderation.labels import LABELS, Label, reaches

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


# --- obfuscations of the cue sentence ---------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'”’])\s+")
# A word with at least four letters, possibly quoted or followed by punctuation.
_WORD_WITH_PUNCT = re.compile(r"([\"'(“‘]*)([A-Za-z]{4,})([.,;:!?\"')”’]*)")
_LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "|"}
# Look-alikes outside basic Cyrillic and Greek: Latin IPA and small capitals, Armenian,
# Cherokee, Cyrillic supplement letters.
_LOOKALIKE_OTHER = {
    "a": "ɑᴀ", "o": "ᴏօ", "e": "ҽᴇ", "i": "ıɪ", "n": "ոɴ", "s": "ꜱ", "d": "ԁᴅ", "h": "һհ", "l": "ӏʟ",
    "g": "ɡɢ", "c": "ᴄ", "w": "ꮃᴡ", "u": "սᴜ", "k": "ᴋ", "r": "ʀ", "t": "ᴛ", "m": "ᴍ", "y": "ʏ",
}


def sentences(text: str) -> list[str]:
    return [s for line in text.split("\n") for s in _SENTENCE_END.split(line) if s.strip()]


def cue_sentence(case: dict, partner: dict | None) -> str:
    """The sentence that makes the case differ from its pair partner, else the longest one."""
    own = sentences(case["text"])
    others = set(sentences(partner["text"])) if partner else set()
    candidates = [s for s in own if s not in others] or own
    return max(candidates, key=lambda s: (sum(ch.isalpha() for ch in s), s))


def _rewrite_words(sentence: str, rng: random.Random, k: int, rewrite: Callable[[str], str]) -> str:
    words = sentence.split(" ")
    spots = [i for i, w in enumerate(words) if _WORD_WITH_PUNCT.fullmatch(w)]
    for i in sorted(rng.sample(spots, k=min(k, len(spots)))):
        pre, core, post = _WORD_WITH_PUNCT.fullmatch(words[i]).groups()
        words[i] = pre + rewrite(core) + post
    return " ".join(words)


def leetspeak(sentence: str, rng: random.Random) -> str:
    """Digits and symbols for letters in up to four words ("sh0t", "bl00d", "r@pe"); never the last letter."""

    def rewrite(word: str) -> str:
        spots = [i for i, ch in enumerate(word[:-1]) if ch.lower() in _LEET]
        chosen = set(rng.sample(spots, k=max(1, len(spots) // 2))) if spots else set()
        return "".join(rng.choice(_LEET[ch.lower()]) if i in chosen else ch for i, ch in enumerate(word))

    return _rewrite_words(sentence, rng, 4, rewrite)


def lookalike_letters(sentence: str, rng: random.Random) -> str:
    """A third of the letters that have one swapped for a look-alike from outside Cyrillic and Greek."""
    chars = list(sentence)
    spots = [i for i, ch in enumerate(chars) if ch in _LOOKALIKE_OTHER]
    for i in rng.sample(spots, k=len(spots) // 3):
        chars[i] = rng.choice(_LOOKALIKE_OTHER[chars[i]])
    return "".join(chars)


def separated_letters(sentence: str, rng: random.Random) -> str:
    """Up to three words with their letters split by dots, hyphens, underscores or asterisks."""
    sep = rng.choice(".-_*")
    return _rewrite_words(sentence, rng, 3, lambda w: sep.join(w))


def double_spaced_letters(sentence: str, rng: random.Random) -> str:
    """Up to three words spelt with two spaces between their letters."""
    return _rewrite_words(sentence, rng, 3, lambda w: "  ".join(w))


def spelt_sentence(sentence: str, rng: random.Random) -> str:
    """The whole sentence letter by letter: one space inside words, two between them."""
    return "  ".join(" ".join(word) for word in sentence.split())


OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "obfuscation_leetspeak": leetspeak,
    "obfuscation_lookalike_letters": lookalike_letters,
    "obfuscation_separated_letters": separated_letters,
    "obfuscation_double_spaced": double_spaced_letters,
    "obfuscation_spelt_sentence": spelt_sentence,
}


def obfuscation_checks(case: dict, partner: dict | None, seed: int = 0) -> list[Check]:
    """One check per obfuscation family: the case's label must hold with its cue sentence obfuscated."""
    label, expected = Label(case["label"]), int(case["expected"])
    cue = cue_sentence(case, partner)
    checks = []
    for category, obfuscate in OBFUSCATIONS.items():
        rng = random.Random(f"{seed}/{case['id']}/{category}")  # independent of the other perturbations
        text = case["text"].replace(cue, obfuscate(cue, rng), 1)
        checks.append(Check(f"{case['id']}/{category}", category, label, expected, text))
    return checks


def build_checks(folder: Path = SUITE_DIR, seed: int = 0) -> list[Check]:
    rng = random.Random(seed)
    cases = load_cases(folder)
    fillers = json.loads((folder / "fillers.json").read_text(encoding="utf-8"))
    by_pair: dict[str, list[dict]] = defaultdict(list)
    for case in cases:
        if case.get("pair"):
            by_pair[case["pair"]].append(case)
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
        partner = next((c for c in by_pair.get(case.get("pair") or "", []) if c is not case), None)
        checks.extend(obfuscation_checks(case, partner, seed))
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
        return lambda texts: reaches(rules.predict_proba(texts), 0.5).astype(int)
    train, dev = load_split(corpus, "train"), load_split(corpus, "dev")
    tfidf = TfidfLogReg().fit([e.text for e in train], label_matrix(train))
    thresholds = tfidf.fit_thresholds([e.text for e in dev], label_matrix(dev))
    return lambda texts: reaches(tfidf.predict_proba(texts), thresholds).astype(int)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m moderation_training.behaviour", description="Run the behavioural suite.")
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
