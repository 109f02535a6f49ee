"""Help of every command: plain flags show no type, valid values are listed, shared options read the same."""

import pytest
import typer
from typer.testing import CliRunner

from moderation import LABELS, WarningPolicy
from moderation.cli import app

runner = CliRunner()
CLICK = typer.main.get_command(app)
COMMANDS = sorted(CLICK.commands)


def options_of(name):
    command = CLICK.commands[name]
    return {opt: param for param in command.get_params(typer.Context(command)) for opt in param.opts}


def test_every_command_is_here():
    assert set(COMMANDS) >= {"screen", "label", "labels", "bench", "prepare", "train", "evaluate", "corpus"}


@pytest.mark.parametrize("args", [[]] + [[name] for name in COMMANDS], ids=["moderation"] + COMMANDS)
def test_help_shows_no_type_after_plain_flags(args):
    result = runner.invoke(app, [*args, "-h"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "-h, --help  " in result.output or "-h, --help\n" in result.output


@pytest.mark.parametrize("command", ["screen", "label"])
def test_help_lists_the_desks_of_the_packaged_policy(command):
    out = " ".join(runner.invoke(app, [command, "-h"], env={"COLUMNS": "200"}).output.split())
    desks = list(WarningPolicy.default().desks)
    assert desks and f"the default policy's desks: {', '.join(desks)})" in out


def test_help_lists_the_labels_of_the_gate():
    out = " ".join(runner.invoke(app, ["screen", "-h"], env={"COLUMNS": "200"}).output.split())
    assert f"--fail-on <str> Comma-separated labels ({', '.join(l.value for l in LABELS)});" in out


@pytest.mark.parametrize("flag", ["--model", "--backend", "--policy", "--desk"])
def test_shared_options_read_the_same_in_every_command(flag):
    params = {name: options_of(name)[flag] for name in COMMANDS if flag in options_of(name)}
    assert len(params) >= 2, params
    first = next(iter(params.values()))
    for name, param in params.items():
        assert (param.opts, param.help, param.default, param.envvar) == (first.opts, first.help, first.default,
                                                                         first.envvar), name


def test_backend_left_unset_defers_to_the_library_which_reads_the_environment():
    """No command reads $MODERATION_BACKEND itself or defaults to "auto" (which would override the environment):
    the option stays None, and ``Backend.parse(None)`` is the one reader of the variable."""
    having = [name for name in COMMANDS if "--backend" in options_of(name)]
    assert {"screen", "label", "evaluate"} <= set(having)
    for name in having:
        param = options_of(name)["--backend"]
        assert param.default is None and not param.envvar and "$MODERATION_BACKEND" in param.help, name


def test_options_shared_by_the_training_commands_are_defined_once():
    assert options_of("train")["--config"].help == options_of("evaluate")["--config"].help
    assert options_of("evaluate")["--corpus"].help == options_of("corpus")["--corpus"].help


def test_batch_size_means_records_and_only_label_has_it():
    having = [name for name in COMMANDS if "--batch-size" in options_of(name)]
    assert having == ["label"] and "Records per model call" in options_of("label")["--batch-size"].help
    assert "--windows-per-call" in options_of("bench") and "counts records" in options_of("bench")["--windows-per-call"].help


def test_the_library_default_backend_follows_the_environment(monkeypatch):
    from moderation.backends import Backend

    monkeypatch.setenv("MODERATION_BACKEND", "fp32")
    assert Backend.parse(None) is Backend.FP32
    monkeypatch.delenv("MODERATION_BACKEND")
    assert Backend.parse(None) is Backend.AUTO
