"""``--engine ray`` keeps the local engine's per-record error contract, honours or refuses every flag,
and writes through ``RecordWriter`` in input order. One small Ray session (one CPU) for the module."""

import csv
import json

import pytest

ray = pytest.importorskip("ray")

from typer.testing import CliRunner  # noqa: E402

from moderation.cli import app  # noqa: E402

runner = CliRunner()

#: A messy archive: each line's expected id (a missing id becomes the record's position; blank
#: lines are not records) and a fragment of its expected error (None: labelled).
MESSY = [
    ('{"id": "a", "text": "Council meets on Tuesday."}', "a", None),
    ('{"id": "b", "text": "Text GIVE to 70070"', "2", "invalid JSON"),
    ('["not", "an", "object"]', "3", "expected a JSON object, got list"),
    ('{"text": "Police appeal for witnesses after the crash."}', "4", None),
    ('{"id": "c", "text": null}', "c", "text must be a string (got null)"),
    ('{"id": "d", "text": 42}', "d", "text must be a string (got int)"),
    ('{"id": "a", "text": "A second record with the first id."}', "a", "duplicate id 'a'"),
    ("", None, None),
    ('{"id": "f\\ud800", "title": "Update", "text": "Lone \\udc00 surrogates stay."}', "f\ud800", None),
    ('{"id": "g", "text": "' + "long " * 60 + '"}', "g", "over the record limit of 200"),
    ('{"id": "h", "text": "The last entry of the day."}', "h", None),
]


@pytest.fixture(scope="module")
def ray_session():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture
def messy(tmp_path, monkeypatch):
    monkeypatch.setenv("MODERATION_MAX_RECORD_CHARS", "200")
    path = tmp_path / "messy.jsonl"
    path.write_text("".join(line + "\n" for line, _, _ in MESSY), encoding="utf-8")
    return path


def _label(src, out, model, *extra, engine="local"):
    args = ["label", str(src), "-o", str(out), "--model", str(model), "-q", "--engine", engine, *extra]
    result = runner.invoke(app, args)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _rows(path, fmt):
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_messy_archive_same_records_and_errors_as_local(ray_session, tiny_model, messy, tmp_path, fmt):
    local_out, ray_out = tmp_path / f"local.{fmt}", tmp_path / f"ray.{fmt}"
    local = _label(messy, local_out, tiny_model)
    assert local.exit_code == 0, local.output
    # --batch-size 3: ten records in four blocks, so order is kept across blocks
    result = _label(messy, ray_out, tiny_model, "--batch-size", "3", engine="ray")
    assert result.exit_code == 0, result.output
    expected = [(rid, err) for line, rid, err in MESSY if line]
    errors = sum(err is not None for _, err in expected)
    assert result.stderr.strip().splitlines() == [local.stderr.strip().splitlines()[-1].replace("local.", "ray.")]
    assert result.stderr.startswith(f"labelled {len(expected)} records ({errors} with errors) -> ")
    want, got = _rows(local_out, fmt), _rows(ray_out, fmt)
    assert len(got) == len(want) == len(expected)
    for (rid, err), a, b in zip(expected, want, got):
        if fmt == "csv":
            rid = rid.replace("\ud800", "\\ud800")  # written as an escape, by both engines
        assert a["id"] == b["id"] == rid
        assert a["error"] == b["error"]
        if err is None:
            assert not b["error"]
            assert b["labels"] == a["labels"] and b["warnings"] == a["warnings"]
        else:
            assert err in b["error"]
            assert b["labels"] in ([], "")
    if fmt == "jsonl":
        for a, b in zip(want, got):
            assert (a["scores"] is None) == (b["scores"] is None)
            if a["scores"] is not None:
                assert b["scores"] == pytest.approx(a["scores"], abs=1e-5)
                assert b["model_version"] == a["model_version"] == "tiny-test"
    else:
        header = [path.read_text(encoding="utf-8").splitlines()[0] for path in (local_out, ray_out)]
        assert header[0] == header[1]
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".lock")
    assert leftovers == []


def test_strict_stops_at_first_bad_record(ray_session, tiny_model, messy, tmp_path):
    out = tmp_path / "strict.jsonl"
    result = _label(messy, out, tiny_model, "--strict", engine="ray")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "messy.jsonl:2: invalid JSON" in lines[0]
    assert not out.exists()


def test_resume_is_refused(ray_session, tiny_model, messy, tmp_path):
    out = tmp_path / "resume.jsonl"
    result = _label(messy, out, tiny_model, "--resume", engine="ray")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --resume is not supported with --engine ray")
    assert not out.exists()
