"""The corpus check: the shipped corpus passes it, and it catches what it should."""

import copy

import pytest

from moderation_training.corpus import CARD, CARD_END, CARD_START, CORPUS, RULES, check, check_rows, counts_markdown, read_rows, similar_pairs

# Counts relaxed for a four-row corpus, and any split shares allowed (four rows cannot be split 80/10/10).
SMALL = {**RULES, "min_entries": 1, "min_positives": 1, "min_multi": 0, "min_none": 1, "min_hard_share": 0.0,
         "min_domains": 1, "min_long_share": 0.0, "split_share_tolerance": 1.0}


def test_shipped_corpus_passes_the_check():
    result = check(CORPUS)
    assert result.ok, "\n".join(result.errors[:20])


def test_dataset_card_counts_are_current():
    card = CARD.read_text()
    section = card[card.index(CARD_START) + len(CARD_START) : card.index(CARD_END)].strip()
    assert section == counts_markdown(read_rows(CORPUS)), "run: python -m moderation_training.corpus card"


def _row(i, text, split="train", **labels):
    row = {"id": f"r{i}", "text": text, "graphic_violence": 0, "unverified_rumour": 0, "solicitation": 0,
           "ambiguous": [], "domain": "politics", "split": split, "story": f"s{i}", "hard": []}
    row.update(labels)
    return row


TEXTS = [
    "The council approved a new budget for road repairs on Tuesday evening after a long debate.",
    "Soldiers shot the shopkeeper in the back and left his body in the doorway of the bakery.",
    "Sources close to the palace say the prince is expected to step back from public duties soon.",
    "Text HELP to 70070 to give five pounds to the emergency appeal for families hit by the floods.",
]


def _rows():
    return [
        _row(0, TEXTS[0]),
        _row(1, TEXTS[1], graphic_violence=1),
        _row(2, TEXTS[2], unverified_rumour=1),
        _row(3, TEXTS[3], solicitation=1),
    ]


def test_small_valid_corpus_passes_with_relaxed_counts():
    result = check_rows(_rows(), SMALL)
    assert result.errors == [] and result.ok
    assert result.stats["splits"] == {"train": 4}


def test_split_shares_are_checked_against_the_tolerance():
    result = check_rows(_rows(), {**SMALL, "split_share_tolerance": RULES["split_share_tolerance"]})
    assert sorted(result.errors) == ["split dev holds 0.0% of entries, expected about 10%",
                                     "split test holds 0.0% of entries, expected about 10%",
                                     "split train holds 100.0% of entries, expected about 80%"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda rows: rows[0].pop("text"), "field 'text'"),
        (lambda rows: rows[1].update(graphic_violence=2), "must be 0 or 1"),
        (lambda rows: rows[1].update(id="r0"), "duplicate id"),
        (lambda rows: rows[2].update(split="validation"), "split must be"),
        (lambda rows: rows[2].update(ambiguous=["gore"]), "unknown label"),
        (lambda rows: rows.append(_row(9, TEXTS[1] + " ", graphic_violence=1)), "share the same text"),
        (lambda rows: rows.append(_row(9, TEXTS[1].replace("bakery", "butcher's shop"), graphic_violence=1)),
         "near-duplicates"),
        (lambda rows: rows.append({**_row(9, "Completely different words here about weather and rain today."),
                                   "story": "s1", "split": "test"}), "story s1"),
    ],
)
def test_check_catches_broken_corpora(mutate, message):
    rows = copy.deepcopy(_rows())
    mutate(rows)
    result = check_rows(rows, SMALL)
    assert any(message in e for e in result.errors), result.errors


def test_check_enforces_counts():
    result = check_rows(_rows(), RULES)
    assert any("need at least 3000" in e for e in result.errors)
    assert any("hard negatives" in e for e in result.errors)


def test_similar_pairs_threshold():
    a = "one two three four five six seven eight nine ten"
    b = "one two three four five six seven eight nine eleven"
    pairs = similar_pairs([a, b, "completely unrelated text with other words entirely here"], 0.5)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]
