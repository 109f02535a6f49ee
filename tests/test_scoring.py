"""One scoring path: what evaluation, the bench, the behavioural suite and training score is what users get."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.labels import LABELS
from moderation.model import Moderator
from moderation.normalize import normalize_for_model

# Each obfuscated text normalises to its clean twin (look-alike letters, zero-width and format characters,
# a word spelt letter by letter); empty text has nothing to read.
TWINS = [
    ("Soldiers shot the guard in the back.", "Ѕоldіеrѕ shot the guard in the bасk."),
    ("Text GIVE to 70070 to donate now.", "Text G\u200bIVE to 70070 to d\u200do\u2060nate now."),
    ("Unconfirmed reports claim the minister resigned.", "Unconfirmed reports claim the m i n i s t e r resigned."),
]
EMPTY = ["", "   \n\t", "\u200b\u200d"]


@pytest.fixture(scope="module")
def mod(tiny_model):
    return Moderator.from_pretrained(tiny_model, backend="fp32")


def test_twins_really_normalise_to_each_other():
    for clean, obfuscated in TWINS:
        assert obfuscated != clean and normalize_for_model(obfuscated) == normalize_for_model(clean)
    assert all(normalize_for_model(t) == "" for t in EMPTY)


def test_predict_proba_normalises_text_the_way_predict_does(mod):
    clean = mod.predict_proba([c for c, _ in TWINS])
    obfuscated = mod.predict_proba([o for _, o in TWINS])
    np.testing.assert_array_equal(obfuscated, clean)
    assert (mod.predict_proba(EMPTY) == 0).all()
    from_predict = np.array([[p.scores[label] for label in LABELS] for p in mod.predict([o for _, o in TWINS] + EMPTY)],
                            dtype=np.float32)
    np.testing.assert_array_equal(mod.predict_proba([o for _, o in TWINS] + EMPTY), from_predict)


def test_evaluation_scores_through_the_users_path(mod):
    from moderation_training.evaluate import model_scores

    texts = [o for _, o in TWINS] + EMPTY + [c for c, _ in TWINS]
    scores = model_scores(mod, texts)
    assert scores.shape == (len(texts), len(LABELS))
    np.testing.assert_array_equal(scores[: len(TWINS)], scores[-len(TWINS):])  # obfuscation undone
    assert (scores[len(TWINS): len(TWINS) + len(EMPTY)] == 0).all()  # the empty-text guard
    users = np.array([[p.scores[label] for label in LABELS] for p in mod.predict(texts)])
    np.testing.assert_array_equal(scores, users)


def test_training_calibrates_on_the_users_path(mod, tiny_model):
    """Dev logits during training come from the same path (normalised, windowed); empty text is -inf (score 0)."""
    from moderation.model_folder import load_model
    from moderation_training.calibrate import fit_temperature

    model, tokenizer, config = load_model(tiny_model)
    probe = Moderator.from_model(model, tokenizer, config)
    logits = probe.logits([o for _, o in TWINS] + EMPTY)
    np.testing.assert_array_equal(logits[: len(TWINS)], probe.logits([c for c, _ in TWINS]))
    assert np.isneginf(logits[len(TWINS):]).all()
    y = np.array([1, 1, 0, 0, 0, 0])
    assert np.isfinite(fit_temperature(logits[:, 0], y))  # an empty dev text does not poison calibration


def test_scoring_rejects_non_strings(mod):
    with pytest.raises(TypeError, match="text 1 is int"):
        mod.predict_proba(["ok", 3])


def test_one_decision_rule_at_the_boundary(mod, tiny_model):
    """A score equal to its threshold is a label in predict, in the metrics and in threshold fitting alike."""
    from moderation_training.calibrate import fit_threshold
    from moderation_training.metrics import report

    text = TWINS[0][1]
    prob = mod.predict_proba([text])
    at_boundary = Moderator.from_pretrained(tiny_model, backend="fp32")
    at_boundary.thresholds = {label: float(prob[0, j]) for j, label in enumerate(LABELS)}
    assert at_boundary.predict(text).labels == LABELS
    rep = report(np.ones((1, len(LABELS)), dtype=int), prob, prob[0])
    assert all(m["recall"] == 1.0 for m in rep["labels"].values())
    scores = np.array([0.2, 0.4, 0.4, 0.8])
    t = fit_threshold(scores, np.array([0, 1, 1, 1]))
    assert t == pytest.approx(0.3)  # the 0.4s, which F1 wants labelled, reach 0.4; midway down to the 0.2
