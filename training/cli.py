"""Training commands added to the ``moderation`` CLI (via the ``moderation.commands`` entry point).

The commands are thin: they parse options and call plain functions in this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def train_command(
    config: Path = typer.Option(Path("configs/default.yaml"), "--config", "-c", help="Training config (YAML)."),
    overrides: Optional[List[str]] = typer.Argument(None, help="Dotted overrides, e.g. optim.epochs=2 model.base=/path"),
) -> None:
    """Fine-tune the classifier from a config; calibrate on dev; save a model folder."""
    from .config import ConfigError, load_config
    from .train import train

    try:
        cfg = load_config(config, overrides or [])
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    train(cfg, log=lambda msg: typer.echo(msg, err=True))


def evaluate_command(
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model folder (default: the bundled model)."),
    corpus: Path = typer.Option(Path("training/data/corpus.jsonl"), "--corpus", help="Labelled corpus."),
    splits: str = typer.Option("dev,test", "--splits", help="Comma-separated splits to report."),
    out: Path = typer.Option(Path("reports"), "--out", help="Folder for report.json and report.md."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also train and score the baselines."),
    update_card: bool = typer.Option(False, "--update-card", help="Write the metrics into the model's card."),
    backend: str = typer.Option("auto", "--backend", help="Backend the model runs on (default: the package default)."),
) -> None:
    """Evaluate a model (and the baselines) on the corpus; print the Markdown report."""
    from .evaluate import evaluate

    report = evaluate(model, corpus, [s.strip() for s in splits.split(",") if s.strip()], out,
                      baselines=baselines, update_card=update_card, backend=backend)
    typer.echo(report.markdown)


def corpus_command(
    action: str = typer.Argument("check", help="check: validate the corpus; card: refresh the dataset card's counts"),
    corpus: Path = typer.Option(Path("training/data/corpus.jsonl"), "--corpus"),
) -> None:
    """Check the labelled corpus against the dataset card's rules (or refresh the card's counts)."""
    from .corpus import main

    if action not in ("check", "card"):
        typer.echo("error: action must be check or card", err=True)
        raise typer.Exit(2)
    raise typer.Exit(main([action, "--corpus", str(corpus)]))


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("corpus")(corpus_command)
