"""The real shipped model: loads offline from the package, labels the bundled example, passes the behavioural suite."""

import json
from pathlib import Path

import pytest

from moderation import Label, Moderator
from moderation.model_folder import ADAPTER_NAME, BUNDLED_MODEL_DIR
from moderation_training.behaviour import build_checks, moderator_predict, run_suite

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # the real model: `pytest -m "not slow"` is the quick loop, CI runs everything

# Per-category floors, set from measurement of the shipped model: a few points (about one case)
# under what it scores, so a regression fails the build.
FLOORS = {  # measured 0.5.0 on int8 (the default): 98.8% overall (0.4.0: 99.9%, 0.3.0: 99.5%, 0.2.0: 98.2%); floors from 0.2.0,
    # where every written category was 100% except inv_entities 90.0% and so_appeal_vs_report 96.7%
    "gv_gore_vs_count": 0.93,
    "gv_negation": 0.90,
    "gv_idiom": 0.90,
    "ur_anonymous_vs_record": 0.93,
    "ur_debunk_and_confirmation": 0.90,
    "ur_side_hedge": 0.875,
    "so_appeal_vs_report": 0.93,
    "so_police_and_helplines": 0.91,
    "inv_entities": 0.85,
    "inv_quote_vs_narration": 0.91,
    "perturb_zero_width": 0.95,
    "perturb_homoglyph": 0.95,
    "perturb_letter_spacing": 0.95,
    "perturb_deep_in_article": 0.95,
    "obfuscation_leetspeak": 0.95,
    "obfuscation_lookalike_letters": 0.95,
    "obfuscation_separated_letters": 0.95,
    "obfuscation_double_spaced": 0.95,
    "obfuscation_spelt_sentence": 0.95,
}


@pytest.fixture(scope="module")
def shipped():
    """The shipped model on the default backend, as users run it."""
    return Moderator.from_pretrained()


@pytest.fixture(scope="module")
def fp32():
    return Moderator.from_pretrained(backend="fp32")


def test_bundled_model_is_small_and_safetensors_only():
    files = {p.name for p in BUNDLED_MODEL_DIR.iterdir()}
    assert ADAPTER_NAME in files and "moderation.json" in files and "README.md" in files
    assert not any(name.endswith((".bin", ".pt", ".pkl", ".pickle")) for name in files)
    assert sum(p.stat().st_size for p in BUNDLED_MODEL_DIR.iterdir()) < 12_000_000


def test_version_is_carried_everywhere(shipped):
    settings = json.loads((BUNDLED_MODEL_DIR / "moderation.json").read_text())
    assert shipped.version == settings["version"]
    assert settings["version"] in (BUNDLED_MODEL_DIR / "README.md").read_text()
    assert shipped.predict("Council approves budget.").model_version == settings["version"]


def test_example_live_blog_shows_all_three_labels(shipped):
    items = shipped.screen((ROOT / "examples" / "live_blog.txt").read_text())
    by_headline = {item.entry.headline: set(item.prediction.labels) for item in items}
    assert Label.GRAPHIC_VIOLENCE in by_headline["Body recovered from the river near Bewdley"]
    assert Label.UNVERIFIED_RUMOUR in by_headline["Unconfirmed reports of a dam breach upstream"]
    assert Label.SOLICITATION in by_headline["How you can help families who have lost everything"]
    assert by_headline["Police appeal for witnesses after looting in Upton"] == set()
    assert by_headline["Rescue crews reach stranded villagers in Atcham"] == set()


def test_behavioural_suite(shipped, capsys):
    result = run_suite(moderator_predict(shipped), build_checks())
    with capsys.disabled():
        print("\nbehavioural suite (shipped model %s)\n%s" % (shipped.version, result.table()))
    assert result.rate >= 0.97
    assert set(result.per_category) == set(FLOORS)
    low = {c: f"{p}/{t}" for c, (p, t) in result.per_category.items() if p / t < FLOORS[c]}
    assert not low, f"categories under their floor: {low}"


BAND = 0.05
# Share of label decisions (fp32 score more than BAND from the threshold) that must match fp32.
# int8 (dynamic, per-channel) moves a few scores by up to 0.22 on this model; measured agreement
# of whole entries with fp32 on the dev split is 99.5%.
REQUIRED = {"bf16": 1.0, "int8": 0.99}


@pytest.mark.parametrize("backend", sorted(REQUIRED))
def test_backends_agree_with_fp32_outside_a_band(fp32, backend, tmp_path, monkeypatch):
    """Backends give fp32's labels, apart from scores within a small band of the threshold."""
    shipped = fp32
    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path))
    fast = Moderator.from_pretrained(backend=backend)
    cases = [json.loads(l)["text"] for l in (ROOT / "tests/behavioural/cases.jsonl").read_text().splitlines()]
    texts = cases + [item.entry.text for item in shipped.screen((ROOT / "examples/live_blog.txt").read_text())]
    ref, got = shipped.predict(texts), fast.predict(texts)
    checked = agreed = 0
    for a, b in zip(ref, got):
        assert b.model_version == a.model_version
        for label, score in a.scores.items():
            if abs(score - shipped.thresholds[label]) > BAND:
                checked += 1
                agreed += (label in a.labels) == (label in b.labels)
    assert checked > 0.8 * 3 * len(texts)
    assert agreed / checked >= REQUIRED[backend], f"{backend}: {agreed}/{checked} label decisions agree"
