"""The CLI through typer's CliRunner, on a tiny model built in code."""

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moderation.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "live_blog.txt"
runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_help_lists_every_command():
    result = run("--help")
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"screen", "label", "labels", "bench", "prepare", "train", "evaluate", "calibrate", "corpus"}


def test_prepare_builds_the_int8_model_once(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path))
    first = run("prepare", "--model", tiny_model)
    assert first.exit_code == 0, first.output
    built = list(tmp_path.rglob("model.int8.onnx"))
    assert len(built) == 1 and str(built[0]) in first.output
    mtime = built[0].stat().st_mtime_ns
    assert run("prepare", "--model", tiny_model).exit_code == 0
    assert built[0].stat().st_mtime_ns == mtime  # cached: not rebuilt


def test_labels_command():
    result = run("labels")
    assert result.exit_code == 0 and "graphic_violence" in result.output and "warning:" in result.output


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "jsonl"])
def test_screen_formats(tiny_model, fmt):
    result = run("screen", EXAMPLE, "--model", tiny_model, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "jsonl":
        rows = [json.loads(l) for l in result.stdout.splitlines()]
        assert len(rows) == 7 and rows[1]["author"] == "Hannah Whitcombe"
        assert all(r["model_version"] == "tiny-test" and set(r["scores"]) == {"graphic_violence", "unverified_rumour", "solicitation"} for r in rows)
    elif fmt == "html":
        assert result.stdout.count("<article") == 7
    else:
        assert "Rescue crews reach stranded villagers in Atcham" in result.stdout


def test_screen_gate_exit_codes(tiny_model, tmp_path):
    # A desk whose thresholds flag everything, and one that flags nothing.
    policy = tmp_path / "p.yaml"
    policy.write_text("desks:\n  all: {graphic_violence: 0.0001}\n  none: {graphic_violence: 0.9999}\n")
    flagged = run("screen", EXAMPLE, "--model", tiny_model, "--policy", policy, "--desk", "all", "--fail-on", "graphic_violence")
    assert flagged.exit_code == 1
    assert "gate:" in flagged.stderr
    clean = run("screen", EXAMPLE, "--model", tiny_model, "--policy", policy, "--desk", "none", "--fail-on", "graphic_violence")
    assert clean.exit_code == 0


def test_screen_bad_input_and_usage(tiny_model, tmp_path):
    assert run("screen", tmp_path / "missing.txt", "--model", tiny_model).exit_code == 2
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = run("screen", empty, "--model", tiny_model)
    assert result.exit_code == 2 and "no entries" in result.stderr
    assert run("screen", EXAMPLE, "--model", tiny_model, "--fail-on", "gore").exit_code == 2
    assert run("screen", EXAMPLE, "--model", tiny_model, "--format", "pdf").exit_code == 2
    assert run("screen", EXAMPLE, "--model", tmp_path).exit_code == 2  # not a model folder
    assert run("screen", tmp_path, "--model", tiny_model).exit_code == 2  # a directory


def test_screen_stdin_and_output_file(tiny_model, tmp_path):
    out = tmp_path / "screen.md"
    result = run("screen", "-", "--model", tiny_model, "--format", "markdown", "-o", out, input="A headline\nA body.\n")
    assert result.exit_code == 0 and out.read_text().startswith("## A headline")


def _archive(tmp_path):
    rows = [{"id": f"r{i}", "text": f"Entry number {i} about the council budget."} for i in range(5)]
    rows.insert(2, {"id": "bad", "text": None})
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, [r["id"] for r in rows]


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_label_one_output_per_input_in_order(tiny_model, tmp_path, suffix):
    src, ids = _archive(tmp_path)
    out = tmp_path / f"out.{suffix}"
    result = run("label", src, "-o", out, "--model", tiny_model, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    if suffix == "jsonl":
        rows = [json.loads(l) for l in out.read_text().splitlines()]
    elif suffix == "csv":
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == ids
    bad = rows[2]
    assert "text must be a string" in bad["error"]
    good = rows[0]
    assert good["model_version"] == "tiny-test" and not good["error"]
    if suffix == "jsonl":
        assert set(good) == {"id", "scores", "labels", "warnings", "model_version", "error"}
        assert set(good["scores"]) == {"graphic_violence", "unverified_rumour", "solicitation"}


def test_label_strict_stops_with_exit_2(tiny_model, tmp_path):
    src, _ = _archive(tmp_path)
    out = tmp_path / "out.jsonl"
    result = run("label", src, "-o", out, "--model", tiny_model, "--strict")
    assert result.exit_code == 2 and "bad" in result.stderr and not out.exists()


def test_label_stdin_to_stdout(tiny_model):
    result = run("label", "-", "-o", "-", "--model", tiny_model, input='{"id": 7, "text": "hello"}\n')
    assert result.exit_code == 0
    (row,) = [json.loads(l) for l in result.stdout.splitlines()]
    assert row["id"] == "7"


def test_label_bad_usage(tiny_model, tmp_path):
    assert run("label", tmp_path / "x.txt", "-o", tmp_path / "o.jsonl", "--model", tiny_model).exit_code == 2
    nocol = tmp_path / "n.csv"
    nocol.write_text("id,body\n1,x\n")
    result = run("label", nocol, "-o", tmp_path / "o.jsonl", "--model", tiny_model)
    assert result.exit_code == 2 and "'text' column" in result.stderr


def test_version_and_short_help():
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0 and result.output.strip() == f"news-moderation {version('news-moderation')}"
    short = run("-h")
    assert short.exit_code == 0 and "screen" in short.output
    assert run("screen", "-h").exit_code == 0


def test_screen_help_lists_the_valid_labels_and_desks():
    out = " ".join(run("screen", "--help").output.split())  # "live" alone would match "live blog"
    assert "(graphic_violence, unverified_rumour, solicitation)" in out
    assert "desks: live, archive)" in out


@pytest.mark.parametrize("gate", ["", ",", " , "])
def test_an_empty_gate_is_an_error_not_an_open_gate(tiny_model, gate):
    result = run("screen", EXAMPLE, "--fail-on", gate, "--model", tiny_model, "--backend", "fp32")
    assert result.exit_code == 2 and "--fail-on needs at least one label" in result.output


def test_screen_output_that_cannot_be_written_is_one_line_exit_2(tiny_model, tmp_path):
    result = run("screen", EXAMPLE, "-o", tmp_path, "--model", tiny_model, "--backend", "fp32")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error:")


@pytest.mark.parametrize("command", [["bench"], ["evaluate"], ["corpus", "check"]])
def test_commands_that_need_the_repository_say_so_in_one_line(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the repository: no training/data/corpus.jsonl here
    result = run(*command)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("error:") and "not found" in result.output and result.output.count("\n") == 1


def test_train_without_the_real_text_pool_is_one_line_exit_2(tmp_path):
    result = run("train", "--config", ROOT / "configs" / "default.yaml", f"data.realdata={tmp_path / 'nowhere'}",
                 f"output_dir={tmp_path / 'out'}")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "real-text pool not found" in result.output and "data.real_labels=" in result.output


def test_desks_of_the_packaged_policy_work_without_policy(tiny_model):
    from moderation import Label, Moderator, WarningPolicy

    live = WarningPolicy.default().desks["live"]
    mod = Moderator.from_pretrained(tiny_model, backend="fp32", desk="live")
    assert mod.thresholds[Label.GRAPHIC_VIOLENCE] == live[Label.GRAPHIC_VIOLENCE]
    result = run("screen", EXAMPLE, "--model", tiny_model, "--backend", "fp32", "--desk", "live")
    assert result.exit_code == 0, result.output
    unknown = run("screen", EXAMPLE, "--model", tiny_model, "--backend", "fp32", "--desk", "sport")
    assert unknown.exit_code == 2 and "unknown desk 'sport' (known: archive, live)" in unknown.stderr


def test_gate_stops_only_on_its_own_labels_and_names_the_entries(tiny_model, tmp_path):
    policy = tmp_path / "p.yaml"  # every entry gets graphic_violence, none gets the other two
    policy.write_text("desks:\n  gv: {graphic_violence: 0.0001, unverified_rumour: 0.9999, solicitation: 0.9999}\n")
    args = ("screen", EXAMPLE, "--model", tiny_model, "--backend", "fp32", "--policy", policy, "--desk", "gv")
    assert run(*args, "--fail-on", "solicitation,unverified_rumour").exit_code == 0
    flagged = run(*args, "--fail-on", "solicitation,graphic_violence")
    assert flagged.exit_code == 1
    listed = ", ".join(f"{i}:graphic_violence" for i in range(1, 8))
    assert flagged.stderr == f"gate: 7 flagged ({listed})\n"
    unknown = run(*args, "--fail-on", "gore")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: --fail-on: unknown label 'gore'")


def test_calibrate_needs_a_named_model_folder():
    """calibrate rewrites moderation.json: without --model it would rewrite the installed package's model."""
    result = run("calibrate")
    assert result.exit_code == 2 and "--model" in result.output
