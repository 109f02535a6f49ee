"""Batch labelling of archives (the engine behind ``moderation label``).

Results are appended, chunk by chunk, to ``OUT.partial.jsonl`` beside the output;
when every record is done the final file is written atomically (temporary file,
then rename) and the partial file removed. An interrupted run leaves the partial
file, and ``resume=True`` continues after the records it already holds.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .labels import LABELS
from .records import InputError, Record, output_record, read_records, serialise, write_atomic


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


def _done_records(partial: Path, records: list[Record]) -> list[dict[str, Any]]:
    """Records of an interrupted run that match the input, in order (a torn last line is dropped)."""
    done: list[dict[str, Any]] = []
    if not partial.exists():
        return done
    for line in partial.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            break  # the run was killed while writing this line
        if len(done) >= len(records) or rec.get("id") != records[len(done)].id:
            raise InputError(f"{partial} does not belong to this input (record {len(done) + 1} differs); delete it")
        done.append(rec)
    return done


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
    """Label every record of ``input`` and write ``output`` atomically; one output record per input."""
    records = list(read_records(input, input_format))
    summary = LabelSummary(output=output)
    to_stdout = output == "-"
    partial = None if to_stdout else partial_path(output)
    done: list[dict[str, Any]] = []
    if partial is not None:
        if resume:
            done = _done_records(partial, records)
            # rewrite without a torn last line before appending
            partial.write_bytes(serialise(done, "jsonl"))
        else:
            partial.unlink(missing_ok=True)
    summary.resumed = len(done)
    bar = None
    if progress and len(records) - len(done) > batch_size:
        from tqdm import tqdm

        bar = tqdm(total=len(records), initial=len(done), unit="rec", file=sys.stderr, desc="labelling")
    results = list(done)
    sink = partial.open("ab") if partial is not None else None
    try:
        for start in range(len(done), len(records), batch_size):
            chunk = label_records(moderator, records[start : start + batch_size], strict=strict)
            results.extend(chunk)
            if sink is not None:
                sink.write(serialise(chunk, "jsonl"))
                sink.flush()
                os.fsync(sink.fileno())
            if bar is not None:
                bar.update(len(chunk))
    except InputError:  # --strict: the input itself must be fixed, so a partial result is of no use
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise
    finally:
        if sink is not None:
            sink.close()
        if bar is not None:
            bar.close()
    for rec in results:
        summary.add(rec)
    write_atomic(output, serialise(results, output_format or "jsonl"))
    if partial is not None:
        partial.unlink(missing_ok=True)
    return summary
