"""Which engine labels an archive, and the options each engine honours (``moderation label --engine``).

``local`` labels in this process (``labelling.label_archive``: resumable, streaming); ``ray``
on Ray Data workers (``integrations.ray.label_archive_ray``). Both write the same records.
An option that the chosen engine cannot honour is refused with ``EngineOptionError`` before
any work starts, never silently dropped.

Usage::

    job = LabelJob("archive.jsonl", "labels.parquet", batch_size=64)
    summary = label_with(Engine.LOCAL, job)     # a LabelSummary; summary.describe() is one line
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from .labelling import LabelSummary, label_archive, partial_path
from .records import InputError, format_of


class Engine(str, Enum):
    """Where ``moderation label`` runs."""

    LOCAL = "local"  # this process
    RAY = "ray"  # Ray Data workers (the ``ray`` extra)

    def __str__(self) -> str:
        return self.value


class EngineOptionError(InputError):
    """An option that the chosen engine cannot honour (a usage error: exit 2 on the command line)."""


@dataclass(frozen=True)
class LabelJob:
    """Everything ``moderation label`` is asked to do, engine aside."""

    input: str
    output: str
    input_format: str | None = None
    output_format: str | None = None
    strict: bool = False
    batch_size: int = 256  # records per model call (local) or per Ray block (ray)
    progress: bool = True
    model: str | os.PathLike | None = None
    policy: str | os.PathLike | None = None
    desk: str | None = None
    backend: str | None = None  # None: $MODERATION_BACKEND, else auto
    resume: bool = False  # local only
    address: str | None = None  # ray only
    workers: int | None = None  # ray only


#: The options of ``LabelJob`` that only some engines honour: field -> (command-line flag, engines, why not).
ENGINE_ONLY: dict[str, tuple[str, frozenset[Engine], str]] = {
    "resume": ("--resume", frozenset({Engine.LOCAL}), "a Ray run starts over; run again without --resume, "
               "or use --engine local --resume"),
    "address": ("--address", frozenset({Engine.RAY}), "it is the address of a Ray cluster; add --engine ray, "
                "or leave --address out"),
    "workers": ("--workers", frozenset({Engine.RAY}), "it counts Ray workers; add --engine ray, or leave "
                "--workers out (the local engine is one process)"),
}
_DEFAULTS = {f.name: f.default for f in fields(LabelJob)}


def refused_options(engine: Engine, job: LabelJob) -> list[str]:
    """One line for each option set in ``job`` that ``engine`` cannot honour (empty: it honours them all)."""
    engine = Engine(engine)
    return [f"{flag} is not supported with --engine {engine} ({why})"
            for name, (flag, engines, why) in ENGINE_ONLY.items()
            if engine not in engines and getattr(job, name) != _DEFAULTS[name]]


def load_moderator(job: LabelJob) -> Any:
    """The job's model with its policy, desk and backend (``ModelLoadError``, ``PolicyError`` or ``ValueError``)."""
    from .model import Moderator

    return Moderator.from_pretrained(job.model, policy=job.policy, desk=job.desk, backend=job.backend)


def label_with(engine: Engine, job: LabelJob) -> LabelSummary:
    """Label ``job.input`` into ``job.output`` on ``engine``: exactly one output record per input record, in order.

    Raises ``EngineOptionError`` for an option the engine cannot honour, ``InputError`` for a bad input
    or record (with ``strict``), ``OutputError``/``OSError`` when the output cannot be written, and the
    model's own errors (``ModelLoadError``, ``PolicyError``, ``ValueError``) when it does not load."""
    engine = Engine(engine)
    refused = refused_options(engine, job)
    if refused:
        raise EngineOptionError(refused[0])
    in_fmt, out_fmt = format_of(job.input, job.input_format), format_of(job.output, job.output_format)
    if engine is Engine.RAY:
        from .integrations.ray import label_archive_ray

        return label_archive_ray(
            job.input, job.output, address=job.address, workers=job.workers, model=job.model, policy=job.policy,
            desk=job.desk, batch_size=job.batch_size, input_format=in_fmt, output_format=out_fmt,
            backend=job.backend, strict=job.strict, progress=job.progress,
        )
    return label_archive(
        load_moderator(job), job.input, job.output, input_format=in_fmt, output_format=out_fmt,
        strict=job.strict, batch_size=job.batch_size, progress=job.progress, resume=job.resume,
    )


def interrupted_message(engine: Engine, job: LabelJob) -> str:
    """What to tell someone who stopped a run with Ctrl-C: how to continue, where that is possible."""
    if Engine(engine) is Engine.RAY:
        return "interrupted (a Ray run starts over; --resume is not supported with --engine ray)"
    partial = partial_path(job.output)
    if job.input != "-" and job.output != "-" and partial.exists():
        return f"interrupted; rerun with --resume to continue from {partial}"
    return "interrupted"
