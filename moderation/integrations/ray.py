"""Label archives on a Ray cluster with Ray Data (optional extra: ``pip install news-moderation[ray]``).

``RayLabeler`` is a callable class for ``Dataset.map_batches``: each Ray actor
loads the model once and labels batches with the same output fields as
``moderation label`` (``id``, ``scores``, ``labels``, ``warnings``,
``model_version``, ``error``). ``label_dataset`` applies it to a
``ray.data.Dataset``; ``label_archive_ray`` is the engine behind
``moderation label --engine ray``.

Differences from the single-process engine: duplicate ids are not detected
across blocks, and a record without an id is reported as an error (a record's
position in the archive is not known to a worker).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..labelling import LabelSummary, label_records
from ..records import InputError, Record, format_of, make_record, serialise, write_atomic

OUTPUT_FIELDS = ["id", "scores", "labels", "warnings", "model_version", "error"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class RayLabeler:
    """Loads the model once per worker; ``__call__`` labels one pandas batch."""

    def __init__(self, model: str | None = None, policy: str | None = None, desk: str | None = None, threads: int = 1,
                 backend: str = "auto"):
        from ..model import Moderator

        self.moderator = Moderator.from_pretrained(model, policy=policy, desk=desk, backend=backend, threads=threads)

    def __call__(self, batch):
        import pandas as pd

        columns = list(batch.columns)
        records = []
        for row in batch.itertuples(index=False):
            obj = {k: _clean(v) for k, v in zip(columns, row)}
            rid = obj.get("id")
            if rid is None or rid == "":
                records.append(Record(id="", text=None, error="record has no id"))
            else:
                records.append(make_record(obj, str(rid), f"id {rid!r}", set()))
        return pd.DataFrame(label_records(self.moderator, records), columns=OUTPUT_FIELDS)


def label_dataset(ds, *, model: str | os.PathLike | None = None, workers: int = 2, batch_size: int = 256,
                  policy: str | os.PathLike | None = None, desk: str | None = None, threads: int = 1,
                  backend: str = "auto"):
    """A lazy ``ray.data.Dataset`` of output records for a dataset with ``id`` and ``text`` columns."""
    import ray

    return ds.map_batches(
        RayLabeler,
        fn_constructor_kwargs={
            "model": None if model is None else str(model),
            "policy": None if policy is None else str(policy),
            "desk": desk,
            "threads": threads,
            "backend": backend,
        },
        batch_size=batch_size,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
    )


def label_archive_ray(
    input: str,
    output: str,
    *,
    address: str | None = None,
    workers: int | None = None,
    model: str | os.PathLike | None = None,
    policy: str | os.PathLike | None = None,
    desk: str | None = None,
    batch_size: int = 256,
    input_format: str | None = None,
    output_format: str | None = None,
    backend: str = "auto",
) -> LabelSummary:
    """Read JSON Lines or Parquet through Ray Data, label on Ray workers, write ``output`` in input order."""
    try:
        import ray
    except ImportError as exc:
        raise InputError("--engine ray needs the ray extra: pip install 'news-moderation[ray]'") from exc
    in_fmt, out_fmt = format_of(input, input_format), format_of(output, output_format)
    if in_fmt == "csv" or input == "-":
        raise InputError("--engine ray reads JSON Lines or Parquet files")
    if not Path(input).exists() and "://" not in input:
        raise InputError(f"cannot read {input}: no such file")
    local = address is None
    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=(workers or os.cpu_count() or 1) if local else None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # output in input order
    ctx.enable_progress_bars = False
    workers = workers or int(ray.cluster_resources().get("CPU", 1))
    # Read (and split into blocks) before the model workers start: a pool of one model
    # worker per core leaves no CPU for read tasks, which would stall the pipeline.
    if in_fmt == "parquet":
        ds = ray.data.read_parquet(input)
    else:
        ds = ray.data.read_json(input)  # Arrow's reader takes newline-delimited JSON
    ds = ds.materialize()
    labelled = label_dataset(ds, model=model, workers=workers, batch_size=batch_size, policy=policy, desk=desk,
                             backend=backend)
    summary = LabelSummary(output=output)
    results: list[dict[str, Any]] = []
    for batch in labelled.iter_batches(batch_format="pandas", batch_size=4096):
        for rec in batch.to_dict("records"):
            rec = {k: _clean(v) for k, v in rec.items()}
            rec["labels"] = list(rec["labels"])
            rec["warnings"] = list(rec["warnings"])
            summary.add(rec)
            results.append(rec)
    write_atomic(output, serialise(results, out_fmt))
    return summary
