"""The publication gate as a library object: parsing, which entries trip it, and its message."""

import dataclasses

import pytest

from moderation import Entry, Label, Prediction, ScreenedEntry
from moderation.gate import Gate, GateError, GateHit, describe


def _item(entry_id, *labels):
    scores = {l: (0.9 if l in labels else 0.1) for l in Label}
    return ScreenedEntry(Entry(id=entry_id, text=f"Headline {entry_id}\nBody."),
                         Prediction(scores=scores, labels=labels, warnings=(), model_version="t"))


def test_parse_normalises_and_keeps_each_label_once():
    gate = Gate.parse(" Graphic-Violence ,solicitation, graphic_violence")
    assert gate.labels == (Label.GRAPHIC_VIOLENCE, Label.SOLICITATION)
    with pytest.raises(dataclasses.FrozenInstanceError):
        gate.labels = ()


@pytest.mark.parametrize("spec", ["", ",", " , "])
def test_an_empty_gate_is_refused(spec):
    with pytest.raises(GateError, match="^--fail-on needs at least one label \\(graphic_violence, "):
        Gate.parse(spec, option="--fail-on")
    with pytest.raises(GateError, match="needs at least one label"):
        Gate(())


def test_an_unknown_label_is_refused_with_the_option_named():
    with pytest.raises(GateError, match="^--fail-on: unknown label 'gore' \\(known: graphic_violence, "):
        Gate.parse("solicitation,gore", option="--fail-on")


def test_check_lists_gated_labels_only_in_document_order():
    items = [_item("1"), _item("2", Label.GRAPHIC_VIOLENCE, Label.SOLICITATION), _item("3", Label.UNVERIFIED_RUMOUR),
             _item("4", Label.SOLICITATION)]
    hits = Gate.parse("solicitation,graphic_violence").check(items)
    assert hits == [GateHit("2", Label.GRAPHIC_VIOLENCE), GateHit("2", Label.SOLICITATION),
                    GateHit("4", Label.SOLICITATION)]
    assert hits[0].entry_id == "2" and hits[0].label is Label.GRAPHIC_VIOLENCE
    assert Gate.parse("unverified_rumour").check(items) == [("3", Label.UNVERIFIED_RUMOUR)]
    assert Gate.parse("unverified_rumour").check(items[:2] + items[3:]) == []


def test_describe_names_each_hit():
    hits = [GateHit("2", Label.GRAPHIC_VIOLENCE), GateHit("4", Label.SOLICITATION)]
    assert describe(hits) == "gate: 2 flagged (2:graphic_violence, 4:solicitation)"
