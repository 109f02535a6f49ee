from pathlib import Path

import pytest

from moderation import Label, PolicyError, WarningPolicy
from moderation.labels import DEFINITIONS, LABELS
from moderation.policy import DEFAULT_POLICY_FILE

ROOT = Path(__file__).resolve().parents[1]


def test_labels_are_str_enum_with_definitions():
    assert [l.value for l in LABELS] == ["graphic_violence", "unverified_rumour", "solicitation"]
    assert Label("solicitation") is Label.SOLICITATION
    assert Label.SOLICITATION == "solicitation" and str(Label.SOLICITATION) == "solicitation"
    for label in LABELS:
        assert len(DEFINITIONS[label]) > 100 and label.default_warning


def test_label_parse():
    assert Label.parse("graphic_violence, solicitation") == (Label.GRAPHIC_VIOLENCE, Label.SOLICITATION)
    assert Label.parse(["unverified-rumour"]) == (Label.UNVERIFIED_RUMOUR,)
    with pytest.raises(ValueError, match="unknown label 'gore'"):
        Label.parse("gore")


def test_default_policy_order_and_wording():
    policy = WarningPolicy()
    warnings = policy.warnings_for([Label.SOLICITATION, Label.GRAPHIC_VIOLENCE])
    assert warnings == (Label.GRAPHIC_VIOLENCE.default_warning, Label.SOLICITATION.default_warning)
    assert policy.warnings_for([]) == ()


def test_shipped_policy_file_loads():
    policy = WarningPolicy.from_yaml(DEFAULT_POLICY_FILE)
    assert policy.placement == "before"
    assert set(policy.thresholds_for("live")) == {Label.GRAPHIC_VIOLENCE, Label.UNVERIFIED_RUMOUR}
    assert policy.thresholds_for(None) == {}
    with pytest.raises(PolicyError, match="unknown desk"):
        policy.thresholds_for("sport")


def test_policy_custom_order_and_after(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "placement: after\norder: [solicitation, unverified_rumour, graphic_violence]\n"
        "labels:\n  solicitation: Contains an appeal.\n"
    )
    policy = WarningPolicy.from_yaml(path)
    assert policy.placement == "after"
    assert policy.warnings_for(LABELS)[0] == "Contains an appeal."
    assert policy.warnings_for(LABELS)[1] == Label.UNVERIFIED_RUMOUR.default_warning


@pytest.mark.parametrize(
    "text, message",
    [
        ("colour: red\n", "unknown keys"),
        ("labels:\n  gore: x\n", "unknown label"),
        ("order: [solicitation]\n", "every label"),
        ("placement: middle\n", "placement"),
        ("desks:\n  live:\n    solicitation: 1.5\n", "threshold"),
        ("- a list\n", "mapping"),
    ],
)
def test_policy_rejects_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        WarningPolicy.from_yaml(path)


def test_policy_uses_safe_load(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("heading: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(PolicyError):
        WarningPolicy.from_yaml(path)


def test_shipped_desks_move_the_way_their_comments_say():
    """live warns more readily on violence and rumour; archive raises every threshold (fewer false alarms)."""
    import json

    from moderation.model_folder import BUNDLED_MODEL_DIR

    policy = WarningPolicy.from_yaml(DEFAULT_POLICY_FILE)
    model = {Label(k): v for k, v in json.loads((BUNDLED_MODEL_DIR / "moderation.json").read_text())["thresholds"].items()}
    live, archive = policy.desks["live"], policy.desks["archive"]
    for label in (Label.GRAPHIC_VIOLENCE, Label.UNVERIFIED_RUMOUR):
        assert live[label] < model[label], (label, live[label], model[label])
    assert Label.SOLICITATION not in live
    for label in Label:
        assert archive[label] > model[label], (label, archive[label], model[label])


# -- the default policy is package data, and it is the default ---------------------------------------


def test_default_policy_is_the_packaged_file_desks_included():
    packaged = WarningPolicy.from_yaml(DEFAULT_POLICY_FILE)
    assert WarningPolicy() == packaged == WarningPolicy.default()
    assert list(WarningPolicy().desks) == ["live", "archive"]
    assert WarningPolicy().thresholds_for("live") == packaged.desks["live"]
    # the wording of the file is the labels' own default wording (the `labels` command prints it)
    assert dict(packaged.wording) == {label: label.default_warning for label in LABELS}


def test_a_policy_file_has_only_its_own_desks(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("heading: Note\n")
    with pytest.raises(PolicyError, match="unknown desk 'live' \\(known: none defined\\)"):
        WarningPolicy.from_yaml(path).thresholds_for("live")


def test_the_default_policy_is_inside_the_package_and_listed_as_package_data():
    import fnmatch
    import tomllib

    import moderation

    package = Path(moderation.__file__).parent
    relative = DEFAULT_POLICY_FILE.relative_to(package).as_posix()  # raises if it lies outside the package
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["moderation"]
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), (relative, patterns)
    assert not (ROOT / "configs" / "warnings.yaml").exists(), "one source: the packaged file"
