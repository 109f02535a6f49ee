"""Bad input never crashes or loses records; interrupted runs resume; normalisation."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from moderation import Moderator
from moderation.cli import app
from moderation.normalize import normalize_for_model

runner = CliRunner()


@pytest.fixture(scope="module")
def mod(tiny_model):
    return Moderator.from_pretrained(tiny_model)


AWKWARD_TEXTS = {
    "empty": "",
    "whitespace": " \n\t ",
    "url_only": "https://example.com/news/2026/11/25/story?id=1",
    "emoji_only": "🔥🔥🙏😱",
    "long_text": "The council met again to discuss the budget. " * 2300,  # > 100,000 characters
    "one_huge_token": "x" * 100_000,
    "html_entities": "<p>Crowds &amp; police &lt;clash&gt; &#8212; &quot;live&quot;</p>",
    "nul_and_control": "Breaking\x00 news\x07 from\x1b the\x0c court",
    "lone_surrogate": "Minister \ud800 resigns",
    "crlf": "Headline\r\nBody line one\r\nBody line two\r\n",
    "non_english": "Десятки людей погибли в результате наводнения в регионе.",
    "zero_width": "S\u200bubscribe n\u200dow",
}


@pytest.mark.parametrize("name", sorted(AWKWARD_TEXTS))
def test_predict_gives_a_defined_result(mod, name):
    pred = mod.predict(AWKWARD_TEXTS[name])
    assert set(pred.scores) == set(mod.thresholds)
    assert all(0.0 <= s <= 1.0 for s in pred.scores.values())


def test_empty_text_has_no_labels(mod):
    for text in ("", "   \n"):
        pred = mod.predict(text)
        assert pred.labels == () and all(s == 0.0 for s in pred.scores.values())


def test_predict_rejects_non_strings(mod):
    with pytest.raises(TypeError, match="text 1 is NoneType"):
        mod.predict(["ok", None])


def test_normalisation_for_the_model_only():
    assert normalize_for_model("Ѕubѕсribe\u200b now") == "Subscribe now"  # Cyrillic look-alikes, zero-width
    assert normalize_for_model("ＦＵＬＬ\x00width") == "FULL width"
    assert normalize_for_model("Москва") == "Москва"  # real Cyrillic words stay
    assert normalize_for_model("a\r\nb") == "a\nb"


def test_screen_keeps_original_text(tiny_model):
    original = "Headl\u200bine with ｗｉｄｅ letters\nBody"
    result = runner.invoke(app, ["screen", "-", "--model", str(tiny_model), "--format", "jsonl"], input=original)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["text"] == original


def test_messy_archive_one_record_each_with_named_errors(tiny_model, tmp_path):
    lines = [
        b'{"id": "a", "text": "fine"}',
        b'{"id": "b", "text": "bad \xff\xfe bytes"}',
        b"{not json",
        b"42",
        b'{"id": "c", "text": null}',
        b'{"id": "d", "text": 3.5}',
        b'{"text": "no id here"}',
        b'{"id": "a", "text": "duplicate id"}',
        b'{"id": "e", "text": "lone \\ud800 surrogate"}',
        b'{"id": "f\\ud800", "text": "surrogate in id"}',
        b'{"id": "g", "text": ""}',
    ]
    src = tmp_path / "messy.jsonl"
    src.write_bytes(b"\r\n".join(lines) + b"\r\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["label", str(src), "-o", str(out), "--model", str(tiny_model)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(lines)
    by_pos = {i: r for i, r in enumerate(rows)}
    assert by_pos[0]["error"] is None and by_pos[1]["error"] is None  # invalid bytes replaced, record kept
    assert "messy.jsonl:3" in by_pos[2]["error"] and "invalid JSON" in by_pos[2]["error"]
    assert "messy.jsonl:4" in by_pos[3]["error"]
    assert "id 'c'" in by_pos[4]["error"] and "id 'd'" in by_pos[5]["error"]
    assert by_pos[6]["id"] == "7" and by_pos[6]["error"] is None  # missing id: its position
    assert "duplicate id 'a'" in by_pos[7]["error"]
    assert by_pos[8]["error"] is None and by_pos[9]["id"] == "f\ud800"
    assert by_pos[10]["labels"] == []


def test_strict_names_the_record(tiny_model, tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text('{"id": "ok", "text": "fine"}\n{"id": "bad", "text": null}\n')
    result = runner.invoke(app, ["label", str(src), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_model), "--strict"])
    assert result.exit_code == 2 and "s.jsonl:2" in result.stderr and "'bad'" in result.stderr
    assert not list(tmp_path.glob("o.jsonl*"))


def test_empty_archive_gives_empty_output(tiny_model, tmp_path):
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    out = tmp_path / "o.jsonl"
    result = runner.invoke(app, ["label", str(src), "-o", str(out), "--model", str(tiny_model)])
    assert result.exit_code == 0 and out.read_text() == ""


def _label_cmd(src, out, model, *extra):
    return [sys.executable, "-m", "moderation.cli", "label", str(src), "-o", str(out), "--model", str(model),
            "--batch-size", "8", "--quiet", *extra]


def test_interrupted_run_resumes_without_gaps_or_doubles(tiny_model, tmp_path):
    n = 3000
    src = tmp_path / "big.jsonl"
    src.write_text("".join(json.dumps({"id": f"n{i}", "text": f"Item {i}: the council met about roads."}) + "\n"
                           for i in range(n)))
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial.jsonl"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_label_cmd(src, out, tiny_model), env=env, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if partial.exists() and partial.stat().st_size > 20_000:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the run finished before it could be interrupted"
    done_before = len(partial.read_text().splitlines())
    assert 0 < done_before < n

    resumed = subprocess.run(_label_cmd(src, out, tiny_model, "--resume"), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "taken from the interrupted run" in resumed.stderr
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"n{i}" for i in range(n)]
    assert not partial.exists()

    fresh = tmp_path / "fresh.jsonl"
    subprocess.run(_label_cmd(src, fresh, tiny_model), env=env, check=True, capture_output=True)
    assert rows == [json.loads(l) for l in fresh.read_text().splitlines()]


def test_resume_refuses_a_partial_file_from_other_input(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "x", "text": "one"}\n')
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial.jsonl").write_text('{"id": "other"}\n')
    result = runner.invoke(app, ["label", str(src), "-o", str(out), "--model", str(tiny_model), "--resume"])
    assert result.exit_code == 2 and "does not belong" in result.stderr
