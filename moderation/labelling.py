"""Batch labelling of archives (the engine behind ``moderation label``).

The input is read, labelled and written in chunks, so memory stays flat however
large the archive. Results are appended, chunk by chunk, to ``OUT.partial.jsonl``
beside the output, after a header line with fingerprints of the input and of the
settings; when every record is done the final file is written atomically
(temporary file, then rename) and the partial file removed. An interrupted run
leaves the partial file, and ``resume=True`` continues after the records it
holds, if the input and settings are still the same. ``OUT.lock`` keeps a second
run off the same output. Standard output, devices and FIFOs are written directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from .labels import LABELS
from .records import (
    InputError, Limits, OutputError, OutputTarget, Record, RecordWriter, format_of, open_nofollow, output_lock,
    output_record, read_records, serialise,
)

#: Records per write of the final file (a Parquet row group).
WRITE_CHUNK = 4096


@dataclass
class LabelSummary:
    records: int = 0
    errors: int = 0
    resumed: int = 0
    flagged: dict[str, int] = field(default_factory=lambda: {l.value: 0 for l in LABELS})
    output: str = ""

    def add(self, rec: dict[str, Any]) -> None:
        self.records += 1
        self.errors += rec.get("error") is not None
        for name in rec.get("labels") or ():
            self.flagged[name] += 1

    def describe(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.flagged.items())
        resumed = f", {self.resumed} taken from the interrupted run" if self.resumed else ""
        return f"labelled {self.records} records ({self.errors} with errors{resumed}) -> {self.output}; flagged: {counts}"


def label_records(moderator, records: list[Record], strict: bool = False) -> list[dict[str, Any]]:
    """Output records for ``records``, in order; bad records get an ``error`` instead of scores."""
    if strict:
        bad = next((r for r in records if r.error is not None), None)
        if bad is not None:
            raise InputError(bad.error)
    good = [r for r in records if r.error is None]
    predictions = iter(moderator.predict([r.model_text for r in good]))
    version = moderator.version
    return [
        output_record(r, prediction=next(predictions), model_version=version)
        if r.error is None
        else output_record(r, error=r.error, model_version=version)
        for r in records
    ]


def partial_path(output: str) -> Path:
    out = Path(output)
    return out.with_name(out.name + ".partial.jsonl")


def run_settings(moderator, input_format: str, limits: Limits) -> dict[str, Any]:
    """Everything besides the input that decides an output record, as plain JSON values."""
    config = getattr(moderator, "config", None)
    policy = getattr(moderator, "policy", None)
    config_json = None if config is None else json.dumps(config.to_json(), sort_keys=True, default=str)
    return {
        "model_version": moderator.version,
        "model_config": None if config_json is None else _sha256([config_json.encode()]),
        "backend": getattr(moderator, "backend", None),
        "thresholds": {str(k): float(v) for k, v in getattr(moderator, "thresholds", {}).items()},
        "warnings": None if policy is None else [[str(l), policy.wording[l]] for l in policy.order],
        "desk": getattr(moderator, "desk", None),
        "input_format": input_format,
        "max_record_chars": limits.max_record_chars,
    }


def input_digest(path: str) -> str | None:
    """SHA-256 of a regular input file, read in blocks; None for stdin, pipes and devices (they can be read once)."""
    try:
        if path == "-" or not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as fh:
            return _sha256(iter(lambda: fh.read(1 << 16), b""))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _sha256(blocks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for block in blocks:
        digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def label_archive(
    moderator,
    input: str,
    output: str,
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    strict: bool = False,
    batch_size: int = 256,
    progress: bool = True,
    resume: bool = False,
) -> LabelSummary:
    """Label every record of ``input`` into ``output``, ``batch_size`` records at a time; one output record per input."""
    limits = Limits.from_env()
    in_fmt, out_fmt = format_of(input, input_format), output_format or "jsonl"
    target = OutputTarget.of(output)
    if output != "-":
        _refuse_overwriting_input(input, [output, str(partial_path(output))])
    if resume and target.direct:
        raise InputError("--resume needs an output file (standard output, devices and FIFOs are written directly)")
    summary = LabelSummary(output=output)
    with closing(read_records(input, in_fmt, limits)) as records:
        if target.direct:
            with _progress(progress, 0) as bar:
                _write(target, out_fmt, _labelled(moderator, records, batch_size, strict, summary, bar))
            return summary
        partial = partial_path(output)
        with output_lock(output):
            header = {"moderation_partial": 1, "input": input_digest(input),
                      "settings": run_settings(moderator, in_fmt, limits)}
            if resume and header["input"] is None:
                raise InputError("--resume needs the input as a regular file (standard input or a pipe cannot be checked)")
            with _open_partial(partial, resume) as journal:
                if not (resume and _resume(journal, partial, header, records, summary)):
                    _append(journal, json.dumps(header).encode() + b"\n")
                try:
                    with _progress(progress, summary.resumed) as bar:
                        for chunk in _labelled(moderator, records, batch_size, strict, summary, bar):
                            _append(journal, serialise(chunk, "jsonl"))
                except InputError:  # --strict, or an unreadable input: it must be fixed, so the partial file is of no use
                    partial.unlink(missing_ok=True)
                    raise
                journal.seek(0)
                _write(target, out_fmt, _batched((rec for _, rec in islice(_lines(journal), 1, None)), WRITE_CHUNK))
                partial.unlink()
    return summary


def _labelled(
    moderator, records: Iterator[Record], batch_size: int, strict: bool, summary: LabelSummary, bar: Any
) -> Iterator[list[dict[str, Any]]]:
    """Output records in chunks of ``batch_size``, counted in ``summary`` and on ``bar``."""
    for chunk in _batched(records, batch_size):
        results = label_records(moderator, chunk, strict=strict)
        for rec in results:
            summary.add(rec)
        bar.update(len(results))
        yield results


def _write(target: OutputTarget, fmt: str, chunks: Iterable[list[dict[str, Any]]]) -> None:
    with target.open() as fh:
        writer = RecordWriter(fh, fmt)
        for chunk in chunks:
            writer.write(chunk)
        writer.close()


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    items = iter(items)
    while chunk := list(islice(items, size)):
        yield chunk


def _progress(enabled: bool, initial: int) -> Any:
    """A progress bar on stderr that shows only once a run has taken a second."""
    from tqdm import tqdm

    return tqdm(initial=initial, unit="rec", file=sys.stderr, desc="labelling", disable=not enabled, delay=1)


def _refuse_overwriting_input(input: str, paths: list[str]) -> None:
    """``OutputError`` when one of ``paths`` is the input file (also under another name or a hard link)."""
    if input == "-" or not os.path.exists(input):
        return
    for path in paths:
        if os.path.exists(path) and os.path.samefile(input, path):
            raise OutputError(f"{path} is the input file {input}; choose another output")


def _open_partial(path: Path, resume: bool) -> BinaryIO:
    """The partial file, never through a link: the existing one when resuming (if any), else a new one."""
    if path.is_symlink():
        raise OutputError(f"{path} is a symbolic link; refusing to follow it (remove it if it is not yours)")
    if not resume:
        path.unlink(missing_ok=True)
    fd = open_nofollow(path, os.O_RDWR | os.O_CREAT | (0 if resume else os.O_EXCL))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise OutputError(f"{path} is not a plain file (a device, FIFO or hard link); remove it")
    return open(fd, "r+b")


def _append(journal: BinaryIO, data: bytes) -> None:
    journal.write(data)
    journal.flush()
    os.fsync(journal.fileno())


def _lines(journal: BinaryIO) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each complete line of ``journal`` with the offset after it; stops at a torn tail (cut UTF-8, JSON or line)."""
    end = journal.tell()
    for line in journal:
        try:
            rec = json.loads(line.decode("utf-8")) if line.endswith(b"\n") else None
        except ValueError:
            rec = None
        if not isinstance(rec, dict):
            return
        end += len(line)
        yield end, rec


def _resume(journal: BinaryIO, path: Path, header: dict[str, Any], records: Iterator[Record], summary: LabelSummary) -> bool:
    """Check the partial file against this run, count its records (consuming theirs from ``records``) and cut a
    torn tail; False, with the file emptied, when it holds no whole header (killed before or while writing it)."""
    lines = _lines(journal)
    end, found = next(lines, (0, None))
    if found is None:
        journal.seek(0)
        journal.truncate()
        return False
    if found.get("moderation_partial") != 1 or found.get("input") != header["input"]:
        raise InputError(f"{path} does not belong to this input (other content, or not a partial file of this version); "
                         "delete it or run without --resume")
    settings = found.get("settings") or {}
    changed = sorted(k for k in header["settings"].keys() | settings.keys() if settings.get(k) != header["settings"].get(k))
    if changed:
        raise InputError(f"{path} was written with other settings ({', '.join(changed)} differ); "
                         "resume with the same --model, --backend, --policy and --desk, or run without --resume")
    for n, (end_n, rec) in enumerate(lines, start=1):
        record = next(records, None)
        if record is None or record.id != rec.get("id"):
            raise InputError(f"{path} does not belong to this input (record {n} differs); delete it")
        summary.add(rec)
        end = end_n
    summary.resumed = summary.records
    journal.seek(end)
    journal.truncate()
    return True
