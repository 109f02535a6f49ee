"""Real published text: the loader on a tiny pool written here, the sampler's rules, agreement
statistics, and the committed label file (ids and labels only, never text)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from moderation.labels import LABELS
from moderation_training.agreement import cohen_kappa, finalise, kappas
from moderation_training.config import load_config
from moderation_training.realdata import (
    ENV, REAL_LABELS, RealDataMissing, describe, find_realdata, load_real, read_labels, training_sets,
)

from tests.conftest import write_tiny_pool, write_tiny_real_labels, real_label_row as row

EVAL_ONLY = {"fnc", "emg", "bbc", "ag", "gva"}


@pytest.fixture()
def pool(tmp_path: Path) -> Path:
    return write_tiny_pool(tmp_path / "realdata")


@pytest.fixture()
def labels(tmp_path: Path) -> Path:
    return write_tiny_real_labels(tmp_path / "labels.jsonl")


def test_loader_joins_texts_to_labels_and_keeps_reserved_ids_out(pool, labels):
    test = load_real("test", pool, labels)
    assert [e.id for e in test] == ["pheme:1", "gva:5"]  # gva:6 is reserved: never loaded
    assert test[1].text.startswith("The victim was shot") and test[1].labels == (1, 0, 0)
    assert test[1].domain == "gva" and test[1].raw["use"] == "eval-only"
    dev = load_real("dev", pool, labels)
    assert dev[0].ambiguous == (LABELS[2],)
    assert {e.id for e in load_real(None, pool, labels)} == {"pheme:1", "pheme:2", "clx:3", "clx:4", "gva:5"}
    assert [e.id for e in load_real(None, pool, labels, sets=["clx"])] == ["clx:3", "clx:4"]


def test_eval_only_text_in_a_training_split_is_refused(pool, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(row("pheme:2", "train")) + "\n" + json.dumps(row("gva:5", "train", gv=1)) + "\n")
    with pytest.raises(ValueError, match="eval-only"):
        load_real(None, pool, bad)


def test_label_values_and_splits_are_checked(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps({**row("pheme:1", "test"), "solicitation": 2}) + "\n")
    with pytest.raises(ValueError, match="0 or 1"):
        read_labels(path)
    path.write_text(json.dumps(row("pheme:1", "holdout")) + "\n")
    with pytest.raises(ValueError, match="split"):
        read_labels(path)


def test_pool_is_found_by_flag_or_environment_and_missing_is_a_clear_error(pool, tmp_path, monkeypatch):
    assert find_realdata(pool) == pool
    assert find_realdata(pool / "pool.jsonl") == pool
    monkeypatch.setenv(ENV, str(pool))
    assert find_realdata() == pool
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere"))
    with pytest.raises(RealDataMissing, match="MODERATION_REALDATA"):
        find_realdata()
    with pytest.raises(RealDataMissing):
        load_real("test", tmp_path / "nowhere")


def test_training_sets_add_real_train_and_only_train_eval_dev(pool, labels, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"c-{i}", "text": f"entry {i}", "graphic_violence": 0,
                                          "unverified_rumour": 0, "solicitation": 0, "ambiguous": [],
                                          "split": split}) + "\n"
                              for i, split in enumerate(["train", "train", "dev"])))
    cfg = load_config(None, [f"data.corpus={corpus}"])
    train, dev = training_sets(cfg.data)
    assert [e.id for e in train] == ["c-0", "c-1"] and [e.id for e in dev] == ["c-2"]  # no real text by default
    cfg = load_config(None, [f"data.corpus={corpus}", f"data.real_labels={labels}", f"data.realdata={pool}",
                             "data.real_weight=2"])
    train, dev = training_sets(cfg.data)
    assert [e.id for e in train] == ["c-0", "c-1", "pheme:2", "clx:3", "pheme:2", "clx:3"]
    assert [e.id for e in dev] == ["c-2", "clx:4"]  # real-dev of train+eval sets only


def test_sampler_keeps_the_rules(pool):
    from moderation_training.sample_real import sample

    rows = sample(pool)
    ids = [r["id"] for r in rows]
    assert "gva:6" not in ids and len(ids) == len(set(ids))
    for r in rows:
        if r["set"] in EVAL_ONLY:
            assert r["split"] in ("dev", "test")
    assert {r["id"]: r["split"] for r in rows}["pheme:1"] == "test"  # the Ottawa event is a test event


def test_cohen_kappa_and_finalise(tmp_path):
    assert cohen_kappa([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert cohen_kappa([1, 1, 0, 0], [0, 0, 1, 1]) == -1.0
    # observed 0.8, expected 0.5 -> kappa 0.6
    assert cohen_kappa([1, 1, 1, 0, 0, 0, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0, 0, 1, 1, 0]) == pytest.approx(0.6)
    ann = tmp_path / "ann.jsonl"
    a = [{"id": "x:1", "labeller": "A", "graphic_violence": 1, "unverified_rumour": 0, "solicitation": 0,
          "ambiguous": ["graphic_violence"], "why": "a1"},
         {"id": "x:1", "labeller": "B", "graphic_violence": 1, "unverified_rumour": 0, "solicitation": 0,
          "ambiguous": ["graphic_violence"], "why": "b1"},
         {"id": "x:2", "labeller": "A", "graphic_violence": 0, "unverified_rumour": 1, "solicitation": 0,
          "ambiguous": [], "why": "a2"},
         {"id": "x:2", "labeller": "B", "graphic_violence": 0, "unverified_rumour": 0, "solicitation": 0,
          "ambiguous": [], "why": "b2"},
         {"id": "x:3", "labeller": "A", "graphic_violence": 0, "unverified_rumour": 1, "solicitation": 0,
          "ambiguous": [], "why": "a3"},
         {"id": "x:3", "labeller": "B", "graphic_violence": 0, "unverified_rumour": 0, "solicitation": 1,
          "ambiguous": [], "why": "b3"}]
    ann.write_text("".join(json.dumps(r) + "\n" for r in a))
    assert kappas(a)["graphic_violence"]["kappa"] == pytest.approx(1.0)
    adj = tmp_path / "adj.jsonl"
    adj.write_text(json.dumps({"id": "x:2", "graphic_violence": 0, "unverified_rumour": 1, "solicitation": 0,
                               "ambiguous": ["unverified_rumour"], "why": "hedged"}) + "\n")
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps({"id": f"x:{i}", "split": "test", "group": f"g{i}", "stratum": "s"}) + "\n"
                              for i in (1, 2, 3)))
    out = tmp_path / "final.jsonl"
    counts = finalise(ann, adj, sample, out)
    assert counts == {"written": 2, "agreed": 1, "adjudicated": 1, "undecided": 1}
    final = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert final["x:1"]["ambiguous"] == ["graphic_violence"] and final["x:1"]["source"] == "agreed"
    assert final["x:2"]["unverified_rumour"] == 1 and final["x:2"]["ambiguous"] == ["unverified_rumour"]
    assert "x:3" not in final  # a disagreement nobody adjudicated is not guessed


# -- the committed labels: checked without the pool (ids and labels only) -------------------------

def test_committed_real_labels_follow_the_rules():
    rows = read_labels(REAL_LABELS)
    ids = [r["id"] for r in rows]
    assert len(ids) >= 1500 and len(ids) == len(set(ids))
    for r in rows:
        assert "text" not in r and len(r["why"]) < 300
        assert r["split"] != "train" or r["id"].split(":", 1)[0] not in EVAL_ONLY
    splits_of_group = defaultdict(set)
    for r in rows:
        splits_of_group[r["group"]].add(r["split"])
    assert all(len(s) == 1 for s in splits_of_group.values()), "an event or story spans two splits"
    assert {r["id"].split(":", 1)[0] for r in rows} == {"pheme", "drm", "clx"} | EVAL_ONLY
    assert all(n >= 250 for n in describe(rows)["clear_positives"].values())


def test_committed_real_labels_avoid_reserved_ids():
    try:
        folder = find_realdata()
    except RealDataMissing as exc:
        pytest.skip(str(exc))
    reserved = set((folder / "reserved_ids.txt").read_text().split())
    assert not reserved & {r["id"] for r in read_labels(REAL_LABELS)}


def test_lever_steps_add_one_lever_at_a_time(pool, tmp_path):
    from moderation_training.levers import step_data

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"{batch}-{i}", "text": f"entry {i}", "graphic_violence": 0,
                                          "unverified_rumour": 0, "solicitation": 0, "ambiguous": [],
                                          "split": split}) + "\n"
                              for i, (batch, split) in enumerate([("war", "train"), ("rt_gv", "train"),
                                                                  ("rt2_local", "train"), ("war", "dev")])))
    labels = tmp_path / "labels.jsonl"
    rows = [row("pheme:2", "train"), {**row("clx:3", "train", so=1), "stratum": "r4-strong-violence-cues"}]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = load_config(None, [f"data.corpus={corpus}", f"data.real_labels={labels}", f"data.realdata={pool}"])
    ids = lambda step: [e.id for e in step_data(cfg.data, *step)[0]]  # noqa: E731
    assert ids((["rt_gv", "rt2_local"], False, False)) == ["war-0"]
    assert ids((["rt2_local"], True, False)) == ["war-0", "rt_gv-1", "pheme:2"]  # round-4 text held back
    assert ids(([], True, True)) == ["war-0", "rt_gv-1", "rt2_local-2", "pheme:2", "clx:3"]
