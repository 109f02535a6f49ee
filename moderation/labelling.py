"""Batch labelling of archives (the engine behind ``moderation label``)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from .labels import LABELS
from .records import InputError, Record, output_record, read_records, serialise, write_atomic


@dataclass
class LabelSummary:
    records: int = 0
    errors: int = 0
    flagged: dict[str, int] = field(default_factory=lambda: {l.value: 0 for l in LABELS})
    output: str = ""

    def describe(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.flagged.items())
        return f"labelled {self.records} records ({self.errors} with errors) -> {self.output}; flagged: {counts}"


def label_records(moderator, records: list[Record], strict: bool = False) -> list[dict[str, Any]]:
    """Output records for ``records``, in order; bad records get an ``error`` instead of scores."""
    good = [r for r in records if r.error is None]
    if strict:
        bad = next((r for r in records if r.error is not None), None)
        if bad is not None:
            raise InputError(bad.error)
    predictions = dict(zip((r.id for r in good), moderator.predict([r.model_text for r in good])))
    version = moderator.version
    return [
        output_record(r, prediction=predictions.get(r.id) if r.error is None else None, error=r.error, model_version=version)
        for r in records
    ]


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
) -> LabelSummary:
    """Label every record of ``input`` and write ``output`` atomically."""
    records = list(read_records(input, input_format))
    summary = LabelSummary(output=output)
    bar = None
    if progress and len(records) > batch_size:
        from tqdm import tqdm

        bar = tqdm(total=len(records), unit="rec", file=sys.stderr, desc="labelling")
    results: list[dict[str, Any]] = []
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        results.extend(label_records(moderator, chunk, strict=strict))
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    for rec in results:
        summary.records += 1
        summary.errors += rec["error"] is not None
        for name in rec["labels"]:
            summary.flagged[name] += 1
    write_atomic(output, serialise(results, output_format or "jsonl"))
    return summary
