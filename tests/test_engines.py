"""The engine choice of ``moderation label`` lives in the library: every flag is honoured or refused, per engine."""

import json

import pytest
import typer
from typer.testing import CliRunner

from moderation.cli import app
from moderation.engines import ENGINE_ONLY, Engine, EngineOptionError, LabelJob, label_with, refused_options

runner = CliRunner()

#: Every option of `moderation label` that both engines honour (the rest must be in ENGINE_ONLY).
BOTH = {"--output", "--input-format", "--output-format", "--strict", "--engine", "--batch-size", "--quiet",
        "--model", "--policy", "--desk", "--backend", "--help"}
#: An example value for each engine-only flag.
GIVEN = {"--resume": [], "--address": ["ray://head:10001"], "--workers": ["2"]}


def label_options():
    command = typer.main.get_command(app).commands["label"]
    return {opt for param in command.get_params(typer.Context(command)) for opt in param.opts if opt.startswith("--")}


def test_every_label_flag_is_classified_for_every_engine():
    engine_only = {flag for flag, _, _ in ENGINE_ONLY.values()}
    assert label_options() == BOTH | engine_only, "a new flag: say which engines honour it (ENGINE_ONLY)"
    assert set(GIVEN) == engine_only
    assert {flag for _, flag in REFUSED} == engine_only  # each is refused somewhere, so each is tested below
    for name, (flag, engines, _) in ENGINE_ONLY.items():
        assert hasattr(LabelJob, name) and flag == "--" + name.replace("_", "-") and engines < set(Engine)


REFUSED = [(engine, flag) for flag, engines, _ in ENGINE_ONLY.values() for engine in Engine if engine not in engines]


@pytest.mark.parametrize("engine, flag", REFUSED, ids=[f"{e.value}{f}" for e, f in REFUSED])
def test_a_flag_the_engine_cannot_honour_is_refused_in_one_line(tmp_path, engine, flag):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "hello"}\n')
    out = tmp_path / "out.jsonl"
    # a model that does not exist: the refusal comes first, before anything is loaded or started
    result = runner.invoke(app, ["label", str(src), "-o", str(out), "--model", str(tmp_path / "no-model"),
                                 "--engine", engine.value, flag, *GIVEN[flag]])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {flag} is not supported with --engine {engine.value} (")
    assert result.stderr.count("\n") == 1 and not out.exists() and list(tmp_path.iterdir()) == [src]


def test_refused_options_lists_each_flag_set_and_only_those():
    job = LabelJob("in.jsonl", "out.jsonl", resume=True, address="ray://h:1", workers=3)
    assert [line.split()[0] for line in refused_options(Engine.LOCAL, job)] == ["--address", "--workers"]
    assert [line.split()[0] for line in refused_options(Engine.RAY, job)] == ["--resume"]
    plain = LabelJob("in.jsonl", "out.jsonl", strict=True, batch_size=3, progress=False, desk="live")
    assert refused_options(Engine.LOCAL, plain) == refused_options(Engine.RAY, plain) == []
    with pytest.raises(EngineOptionError, match="^--workers is not supported with --engine local"):
        label_with(Engine.LOCAL, LabelJob("in.jsonl", "out.jsonl", workers=1))


def test_local_engine_honours_its_flags(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"Entry {i}."}) + "\n" for i in range(5)))
    out = tmp_path / "out.csv"
    summary = label_with("local", LabelJob(str(src), str(out), batch_size=2, progress=False, model=tiny_model,
                                           backend="fp32", desk="archive"))
    assert summary.records == 5 and summary.output == str(out)
    assert out.read_text().splitlines()[0].startswith("id,")
