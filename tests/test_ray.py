"""Ray Data engine: the same output as the single-process engine, record for record."""

import json

import pytest

ray = pytest.importorskip("ray")

from typer.testing import CliRunner  # noqa: E402

from moderation.cli import app  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _archive(tmp_path, n=60):
    rows = [{"id": f"a{i}", "text": f"Post {i}: " + ("the council met about roads. " * (i % 7 + 1))} for i in range(n)]
    rows[5]["text"] = None
    path = tmp_path / "archive.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_ray_engine_matches_single_process(ray_local, tiny_model, tmp_path, suffix):
    src = _archive(tmp_path)
    if suffix == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [json.loads(l) for l in src.read_text().splitlines()]
        src = tmp_path / "archive.parquet"
        pq.write_table(pa.Table.from_pylist(rows), src)
    local_out, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert runner.invoke(app, ["label", str(src), "-o", str(local_out), "--model", str(tiny_model), "-q"]).exit_code == 0
    result = runner.invoke(app, ["label", str(src), "-o", str(ray_out), "--model", str(tiny_model), "--engine", "ray",
                                 "--workers", "2", "--batch-size", "16"])
    assert result.exit_code == 0, result.output
    local = [json.loads(l) for l in local_out.read_text().splitlines()]
    remote = [json.loads(l) for l in ray_out.read_text().splitlines()]
    assert [r["id"] for r in remote] == [r["id"] for r in local]
    for a, b in zip(local, remote):
        assert a["labels"] == b["labels"] and a["warnings"] == b["warnings"] and a["model_version"] == b["model_version"]
        assert (a["error"] is None) == (b["error"] is None)
        if a["scores"] is not None:
            assert b["scores"] == pytest.approx(a["scores"], abs=1e-5)


def test_label_dataset_helper(ray_local, tiny_model):
    from moderation.integrations.ray import label_dataset

    ds = ray.data.from_items([{"id": "x", "text": "Text GIVE to 70070"}, {"id": "y", "text": "Council meets"}])
    rows = label_dataset(ds, model=tiny_model, workers=1).take_all()
    assert [r["id"] for r in rows] == ["x", "y"]
    assert set(rows[0]["scores"]) == {"graphic_violence", "unverified_rumour", "solicitation"}
