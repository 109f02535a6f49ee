"""Label archives on a Ray cluster with Ray Data (optional extra: ``pip install news-moderation[ray]``).

``label_archive_ray`` is the engine behind ``moderation label --engine ray``. It keeps the
single-process engine's contract: one output record per input record, in input order; a
broken JSON line, a non-object line, a null or numeric text, a duplicate id or an oversized
record is that record's ``error`` and the run goes on; a record without an id takes its
position in the archive; ``--strict`` stops at the first bad record. How:

* Read: the driver parses the archive with the package's own streaming reader
  (``read_records``: JSON Lines, CSV, Parquet, or JSON Lines on standard input), so ids,
  positions, duplicates, limits and messages are the local engine's, and Ray never parses
  JSON. Records go into Ray's object store as Arrow blocks of ``batch_size`` rows
  (``position``, ``id``, ``text``, ``title``, ``error``), one block in the driver at a time;
  the whole input then waits in the object store (spilled to disk when larger), as it did
  before. ``--strict`` fails here, at the first bad record, before any model work. No read
  task needs a CPU, so every CPU can hold a model worker, and the blocks are exactly
  ``batch_size`` rows, so they spread over all workers.
* Label: ``Dataset.map_batches`` on a pool of actors, each loading the model once; a record
  that already has an error passes through with it.
* Write: the driver streams ``iter_batches()`` in input order (``preserve_order``, checked by
  position) into the package's ``RecordWriter`` through ``OutputTarget``: the bytes are the
  local engine's (CSV columns and formula escaping, Parquet schema, escaped lone surrogates),
  a file is replaced atomically (or standard output written as it goes), ``OUT.lock`` keeps a
  second run off the output, and the driver holds at most one batch plus ``WRITE_CHUNK``
  records. Ray's own writers (``write_json``/``write_csv``) are not used: they write their
  own JSON and CSV (nested columns, no formula escaping) in shards that would then have to be
  combined.

Refused, with one line: ``--resume`` (a Ray run starts over) and remote URLs as input.

``RayLabeler`` and ``label_dataset`` label a ``ray.data.Dataset`` of your own with ``id`` and
``text`` columns (the same output fields as ``moderation label``). There, each row is judged
alone: a row without an id is an error and duplicate ids are not detected.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from contextlib import closing, contextmanager, nullcontext
from typing import Any, Iterator

import numpy as np

from ..labelling import WRITE_CHUNK, LabelSummary, _progress, _refuse_overwriting_input, label_records
from ..records import (
    InputError, Limits, OutputTarget, Record, RecordWriter, format_of, make_record, output_lock, read_records,
)

OUTPUT_FIELDS = ["id", "scores", "labels", "warnings", "model_version", "error"]
_RECORD_FIELDS = ("id", "text", "title", "error")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class RayLabeler:
    """Loads the model once per worker; ``__call__`` labels one pandas batch."""

    def __init__(self, model: str | None = None, policy: str | None = None, desk: str | None = None, threads: int = 1,
                 backend: str | None = None):
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


def _ray_remote_options(workers: int, threads: int):
    import ray

    return {"compute": ray.data.ActorPoolStrategy(size=workers), "num_cpus": threads}


def label_dataset(ds, *, model: str | os.PathLike | None = None, workers: int = 2, batch_size: int = 256,
                  policy: str | os.PathLike | None = None, desk: str | None = None, threads: int = 1,
                  backend: str | None = None):
    """A lazy ``ray.data.Dataset`` of output records for a dataset with ``id`` and ``text`` columns."""
    return ds.map_batches(
        RayLabeler,
        fn_constructor_kwargs=_model_kwargs(model, policy, desk, threads, backend),
        batch_size=batch_size,
        batch_format="pandas",
        **_ray_remote_options(workers, threads),
    )


def _model_kwargs(model, policy, desk, threads, backend) -> dict[str, Any]:
    from ..backends import Backend

    return {
        "model": None if model is None else str(model),
        "policy": None if policy is None else str(policy),
        "desk": desk,
        "threads": threads,
        "backend": Backend.parse(backend).value,  # the driver's default ($MODERATION_BACKEND), not each worker's
    }


# -- the archive engine --------------------------------------------------------------------------
# Strings travel as UTF-8 bytes with lone surrogates kept ("surrogatepass"): JSON escapes such as
# "\ud800" are valid input, and Arrow strings cannot hold them.
def _encode(value: str | None) -> bytes | None:
    return None if value is None else value.encode("utf-8", errors="surrogatepass")


def _decode(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", errors="surrogatepass")


def _input_schema():
    import pyarrow as pa

    return pa.schema([("position", pa.int64()), *[(name, pa.binary()) for name in _RECORD_FIELDS]])


def _input_block(records: list[Record], first: int):
    """An Arrow block of ``records``; ``first`` is the 1-based position of the first."""
    import pyarrow as pa

    columns = {"position": list(range(first, first + len(records)))}
    for name in _RECORD_FIELDS:
        columns[name] = [_encode(getattr(r, name)) for r in records]
    return pa.Table.from_pydict(columns, schema=_input_schema())


class _ArchiveLabeler:
    """Labels blocks of already-read records: a record with an ``error`` passes through with it.

    Returns ``position`` and ``record``, the output record as ASCII JSON (exact for floats and for
    lone surrogates in ids and messages)."""

    def __init__(self, model: str | None = None, policy: str | None = None, desk: str | None = None, threads: int = 1,
                 backend: str | None = None):
        from ..model import Moderator

        self.moderator = Moderator.from_pretrained(model, policy=policy, desk=desk, backend=backend, threads=threads)

    def __call__(self, batch):
        import pyarrow as pa

        columns = {name: batch.column(name).to_pylist() for name in _RECORD_FIELDS}
        records = [Record(**{name: _decode(columns[name][i]) for name in _RECORD_FIELDS})
                   for i in range(batch.num_rows)]
        results = label_records(self.moderator, records)
        return pa.table({"position": batch.column("position"),
                         "record": pa.array([json.dumps(r) for r in results], type=pa.string())})


def _check_model_settings(model, policy, desk, backend) -> None:
    """Fail in the driver, with one line, on what every worker would fail on (no weights are loaded here)."""
    from ..backends import Backend
    from ..model_folder import ModelLoadError, open_folder
    from ..policy import PolicyError, WarningPolicy

    try:
        Backend.parse(backend)
        open_folder(model)
        rules = WarningPolicy() if policy is None else WarningPolicy.from_yaml(policy)
        rules.thresholds_for(desk)
    except (ModelLoadError, PolicyError, ValueError, OSError) as exc:
        raise InputError(str(exc)) from None


def _read_blocks(input: str, fmt: str, limits: Limits, size: int, strict: bool) -> Iterator[Any]:
    """Arrow blocks of ``size`` records, read with ``read_records``; ``strict``: ``InputError`` at the first bad one."""
    with closing(read_records(input, fmt, limits)) as records:
        chunk: list[Record] = []
        position = 1
        for record in records:
            if strict and record.error is not None:
                raise InputError(record.error)
            chunk.append(record)
            if len(chunk) == size:
                yield _input_block(chunk, position)
                position += len(chunk)
                chunk = []
        if chunk:
            yield _input_block(chunk, position)


#: The last line of a worker's traceback when its model or policy would not load (Ray keeps only the text).
_WORKER_LOAD_ERROR = re.compile(
    r"^moderation\.[\w.]*\b(?:ModelLoadError|_Int8Unavailable|PolicyError|InputError): (.+)$", re.MULTILINE)


def _ray_failure(exc: Exception) -> Exception:
    """A worker's model or policy error as a one-line ``InputError``; anything else unchanged."""
    from ..model import ModelLoadError
    from ..policy import PolicyError

    seen, todo = set(), [exc]
    while todo:
        cause = todo.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, (ModelLoadError, PolicyError, InputError)):
            return InputError(f"a Ray worker could not load the model: {str(cause).splitlines()[0]}")
        todo += [getattr(cause, "cause", None), cause.__cause__, cause.__context__]
    found = _WORKER_LOAD_ERROR.findall(str(exc))
    if found:
        return InputError(f"a Ray worker could not load the model: {found[-1]}")
    return exc


@contextmanager
def _quiet_ray_data(ctx) -> Iterator[None]:
    """For the run: input order, no progress bars, and Ray Data's log on the console muted (it still goes to
    ``ray-data.log`` in the Ray session folder; a failure reaches the caller as an exception). Restored after."""
    saved = ctx.execution_options.preserve_order, ctx.enable_progress_bars
    console = [h for h in logging.getLogger("ray.data").handlers
               if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    levels = [h.level for h in console]
    ctx.execution_options.preserve_order = True  # output in input order
    ctx.enable_progress_bars = False
    for handler in console:
        handler.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"ray\.")
            yield
    finally:
        ctx.execution_options.preserve_order, ctx.enable_progress_bars = saved
        for handler, level in zip(console, levels):
            handler.setLevel(level)


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
    backend: str | None = None,
    strict: bool = False,
    resume: bool = False,
    progress: bool = False,
) -> LabelSummary:
    """Label every record of ``input`` on Ray workers into ``output``: one output record per input, in order.

    Raises ``InputError`` (one line) for a bad input, bad settings, ``strict`` and a bad record,
    or ``resume``; ``OutputError`` when the output cannot be written safely."""
    if resume:
        raise InputError("--resume is not supported with --engine ray (a Ray run starts over); "
                         "run again without --resume, or use --engine local --resume")
    try:
        import ray
    except ImportError as exc:
        raise InputError("--engine ray needs the ray extra: pip install 'news-moderation[ray]'") from exc
    if "://" in input:
        raise InputError(f"--engine ray reads local files and standard input, not {input}; copy it here first")
    from ..backends import Backend

    try:
        backend = Backend.parse(backend).value
    except ValueError as exc:
        raise InputError(str(exc)) from None
    limits = Limits.from_env()
    in_fmt, out_fmt = format_of(input, input_format), output_format or "jsonl"
    target = OutputTarget.of(output)
    if output != "-":
        _refuse_overwriting_input(input, [output])
    if address is None:  # on a cluster, the model and policy paths are the workers', not necessarily this machine's
        _check_model_settings(model, policy, desk, backend)
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            num_cpus=(workers or os.cpu_count() or 1) if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    summary = LabelSummary(output=output)
    try:
        ctx = ray.data.DataContext.get_current()
        with _quiet_ray_data(ctx), (nullcontext() if target.direct else output_lock(output)):
            # Every CPU can go to a model worker: reading is done here, and the blocks wait in the object store.
            refs, total = [], 0
            for block in _read_blocks(input, in_fmt, limits, batch_size, strict):
                refs.append(ray.put(block))
                total += block.num_rows
            with target.open() as fh:
                writer = RecordWriter(fh, out_fmt)
                if refs:
                    size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
                    labelled = ray.data.from_arrow_refs(refs).map_batches(
                        _ArchiveLabeler,
                        fn_constructor_kwargs=_model_kwargs(model, policy, desk, 1, backend),
                        batch_size=batch_size,
                        batch_format="pyarrow",
                        **_ray_remote_options(min(size, len(refs)), 1),
                    )
                    del refs  # the dataset holds them now
                    _stream(labelled, writer, summary, progress)
                if summary.records != total:
                    raise RuntimeError(f"Ray returned {summary.records} of {total} records")
                writer.close()
    except ray.exceptions.RayError as exc:
        raise _ray_failure(exc) from None
    finally:
        if started:
            ray.shutdown()
    return summary


def _stream(labelled, writer: RecordWriter, summary: LabelSummary, progress: bool) -> None:
    """Write the labelled dataset in input order, ``WRITE_CHUNK`` records at a time, holding no more in the driver."""
    pending: list[dict[str, Any]] = []
    expected = 1
    with _progress(progress, 0) as bar:
        for batch in labelled.iter_batches(batch_format="pyarrow", batch_size=None):
            positions = batch.column("position").to_pylist()
            if positions != list(range(expected, expected + len(positions))):
                raise RuntimeError(f"Ray returned records out of order (expected {expected}, got {positions[:1]})")
            expected += len(positions)
            for text in batch.column("record").to_pylist():
                rec = json.loads(text)
                summary.add(rec)
                pending.append(rec)
            bar.update(len(positions))
            if len(pending) >= WRITE_CHUNK:
                writer.write(pending)
                pending = []
    if pending:
        writer.write(pending)
