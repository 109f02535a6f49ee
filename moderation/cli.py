"""The ``moderation`` command line: thin typer commands over plain functions.

Each command parses its options, calls the library (``gate`` for ``--fail-on``,
``engines`` for ``label --engine``) and prints. Options that several commands take
are defined once, in ``options``. Help is plain text (no ``<bool>`` after flags).

Exit codes: 0 success (and, for ``screen --fail-on``, a clean document); 1 a
gated label was found; 2 bad input or usage.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from . import options
from .engines import Engine
from .gate import LABEL_NAMES
from .labels import LABELS

app = typer.Typer(
    help="Label news entries for graphic violence, unverified rumour and solicitation, and add reader warnings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: typer's rich help prints "<bool>" after every flag
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            package = version("news-moderation")
        except PackageNotFoundError:  # running from a source tree that is not installed
            package = "unknown"
        typer.echo(f"news-moderation {package}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the package version and exit."),
) -> None:
    """Label news entries for graphic violence, unverified rumour and solicitation, and add reader warnings."""

EXIT_FLAGGED = 1
EXIT_BAD_INPUT = 2


class OutputFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    html = "html"
    jsonl = "jsonl"


class DocumentKind(str, Enum):
    auto = "auto"
    liveblog = "liveblog"
    article = "article"
    html = "html"


def fail(message: str, code: int = EXIT_BAD_INPUT) -> "typer.Exit":
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def load_moderator(model: Optional[Path], policy: Optional[Path], desk: Optional[str], **kwargs):
    from .model import ModelLoadError, Moderator
    from .policy import PolicyError

    try:
        return Moderator.from_pretrained(model, policy=policy, desk=desk, **kwargs)
    except (ModelLoadError, PolicyError, ValueError) as exc:
        raise fail(str(exc)) from None


def read_document(path: str) -> str:
    from .records import InputError, read_text

    try:
        return read_text(path)
    except InputError as exc:
        raise fail(str(exc)) from None


@app.command()
def screen(
    file: str = typer.Argument(..., metavar="FILE", help="Live blog, article or HTML file; '-' for standard input."),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="Output format."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help=f"Comma-separated labels ({LABEL_NAMES}); exit 1 "
                                          "if any entry carries one (publication gate)."),
    kind: DocumentKind = typer.Option(DocumentKind.auto, "--kind", help="How to split the document."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
    model: Optional[Path] = options.MODEL,
    policy: Optional[Path] = options.POLICY,
    desk: Optional[str] = options.DESK,
    backend: Optional[str] = options.BACKEND,
) -> None:
    """Screen a live blog or article: each entry with its labels, scores and warnings."""
    from .gate import Gate, GateError, describe
    from .records import to_utf8, write_atomic
    from .render import render

    try:
        gate = None if fail_on is None else Gate.parse(fail_on, option="--fail-on")
    except GateError as exc:
        raise fail(str(exc)) from None
    text = read_document(file)
    mod = load_moderator(model, policy, desk, backend=backend)
    source = None if file == "-" else file
    items = mod.screen(text, kind=kind.value, source=source)
    if not items:
        raise fail(f"{source or '<stdin>'}: no entries found (empty document)")
    rendered = render(items, mod.policy, format.value)
    try:
        write_atomic("-" if output is None else str(output), to_utf8(rendered))
    except (OSError, ValueError) as exc:  # OutputError is a ValueError: a directory, an unwritable place
        raise label_failure(exc, str(output)) from None
    hits = [] if gate is None else gate.check(items)
    if hits:
        typer.echo(describe(hits), err=True)
        raise typer.Exit(EXIT_FLAGGED)


def label_failure(exc: Exception, output: str) -> "typer.Exit":
    """Exit 2 with one line; an ``OSError`` here is the output's (input errors arrive as ``InputError``)."""
    if isinstance(exc, OSError):
        return fail(f"cannot write {exc.filename or output}: {exc.strerror or exc}")
    return fail(str(exc))


@app.command()
def label(
    input: str = typer.Argument(..., metavar="INPUT",
                                help="JSON Lines, CSV or Parquet archive with id and text; '-' for stdin (JSON Lines)."),
    output: str = typer.Option(..., "--output", "-o", help="Output file (.jsonl, .csv, .parquet) or '-' for stdout."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="jsonl, csv or parquet (default: from extension)."),
    output_format: Optional[str] = typer.Option(None, "--output-format", help="jsonl, csv or parquet (default: from extension)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad record with exit code 2."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from OUT.partial.jsonl "
                                "(--engine local only)."),
    engine: Engine = typer.Option(Engine.LOCAL, "--engine", help="local: this process (resumable); ray: Ray Data "
                                  "workers."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: start Ray locally; "
                                          "--engine ray only)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Ray workers (default: one per CPU; "
                                          "--engine ray only)."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Records per model call (with --engine ray: "
                                   "records per Ray block)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    model: Optional[Path] = options.MODEL,
    policy: Optional[Path] = options.POLICY,
    desk: Optional[str] = options.DESK,
    backend: Optional[str] = options.BACKEND,
) -> None:
    """Label an archive: exactly one output record per input record, in order."""
    from .engines import LabelJob, interrupted_message, label_with
    from .model import ModelLoadError
    from .policy import PolicyError
    from .records import InputError, OutputError

    job = LabelJob(
        input, output, input_format=input_format, output_format=output_format, strict=strict,
        batch_size=batch_size, progress=not quiet, model=model, policy=policy, desk=desk, backend=backend,
        resume=resume, address=address, workers=workers,
    )
    try:
        summary = label_with(engine, job)
    except (InputError, OutputError, OSError) as exc:  # EngineOptionError is an InputError
        raise label_failure(exc, output) from None
    except (ModelLoadError, PolicyError, ValueError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail(interrupted_message(engine, job), 130) from None
    typer.echo(summary.describe(), err=True)


@app.command()
def bench(
    source: Optional[Path] = typer.Option(
        Path("training/data/corpus.jsonl"), "--input", help="JSON Lines of entries to cut to benchmark length."
    ),
    n: int = typer.Option(1000, "--n", min=1, help="Entries for the batch paths."),
    pipeline_n: int = typer.Option(300, "--pipeline-n", min=1, help="Entries for the (slow) naive pipeline."),
    backends: str = typer.Option("fp32,bf16,int8", "--backends", help="Comma-separated backends to time."),
    windows_per_call: Optional[int] = typer.Option(
        None, "--windows-per-call", min=1, help="Token windows per model call on the torch backends "
        "(default: per backend; int8 always runs one). Not `label --batch-size`, which counts records."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Intra-op threads of each backend "
                                          "(default: the runtime's own)."),
    model: Optional[Path] = options.MODEL,
) -> None:
    """Benchmark: naive HF pipeline vs the batch path (entries/s, tokens/s, memory, agreement)."""
    from .bench import run_bench

    if source is None or not source.is_file():
        raise fail(f"bench needs entries to time: {source} not found (run it from the repository, whose corpus "
                   "is training/data/corpus.jsonl, or pass --input FILE.jsonl)")
    typer.echo(run_bench(None if model is None else str(model), source, n, pipeline_n,
                         [b.strip() for b in backends.split(",") if b.strip()], windows_per_call, threads))


@app.command()
def prepare(model: Optional[Path] = options.MODEL) -> None:
    """Build and cache the int8 model now (for images and CI), instead of on the first int8 run."""
    mod = load_moderator(model, None, None, backend="int8")
    typer.echo(f"int8 model for {mod.version} ready: {mod.runner.path}")


@app.command("labels")
def show_labels() -> None:
    """Print the three labels and what each means."""
    for label in LABELS:
        typer.echo(f"{label.value}\n  {label.definition}\n  warning: {label.default_warning}\n")


def _register_plugins() -> None:
    """Add commands that other installed parts contribute (``moderation.commands`` entry points)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="moderation.commands"):
        try:
            register = ep.load()
        except ImportError:  # an extra that is not installed: its commands are simply absent
            continue
        register(app)


_register_plugins()


def main() -> None:  # console script
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
