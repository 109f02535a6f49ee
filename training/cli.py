"""Training commands added to the ``moderation`` CLI (via the ``moderation.commands`` entry point).

The commands are thin: they parse options and call plain functions in this package. Options
they share with the ``moderation`` commands (``--model``, ``--backend``) are the ones defined in
``moderation.options``; those shared between them (``--config``, ``--corpus``) are defined here once.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from moderation import options

CONFIG = typer.Option(Path("configs/default.yaml"), "--config", "-c", help="Training config (YAML): the recipe "
                      "that train runs and whose data evaluate fits the baselines on.")
CORPUS = typer.Option(Path("training/data/corpus.jsonl"), "--corpus", help="The labelled corpus (JSON Lines).")


def train_command(
    config: Path = CONFIG,
    overrides: Optional[List[str]] = typer.Argument(None, metavar="KEY=VALUE",
                                                    help="Dotted overrides, e.g. optim.epochs=2 model.base=/path"),
) -> None:
    """Fine-tune the classifier from a config; calibrate on dev; save a model folder."""
    from .config import ConfigError, load_config
    from .train import train

    try:
        cfg = load_config(config, overrides or [])
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from .realdata import RealDataMissing

    try:
        train(cfg, log=lambda msg: typer.echo(msg, err=True))
    except RealDataMissing as exc:
        typer.echo(f"error: {exc} (the recipe trains on real text: data.real_labels; "
                   "set data.real_labels= to train on the corpus alone)", err=True)
        raise typer.Exit(2) from None


def evaluate_command(
    model: Optional[Path] = options.MODEL,
    corpus: Path = CORPUS,
    splits: Optional[str] = typer.Option(None, "--splits", help="Comma-separated corpus splits to report "
                                         "(default: the config's data.dev_split and data.test_split)."),
    out: Path = typer.Option(Path("reports"), "--out", help="Folder for report.json and report.md."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also train and score the baselines."),
    update_card: bool = typer.Option(False, "--update-card", help="Write the metrics into the model's card."),
    backend: Optional[str] = options.BACKEND,
    config: Path = CONFIG,
    realdata: Optional[Path] = typer.Option(None, "--realdata", help="Folder of the real-text pool.jsonl "
                                            "(default: $MODERATION_REALDATA or ../shared/realdata)."),
    real_splits: str = typer.Option("test", "--real-splits", help="Comma-separated real-text splits to report "
                                    "('' for none); skipped with a message when the pool is absent."),
) -> None:
    """Evaluate a model (and the baselines) on the corpus and on real published text; print the report."""
    from .config import ConfigError, load_config
    from .evaluate import evaluate

    if not corpus.is_file():
        typer.echo(f"error: {corpus} not found: evaluate needs the labelled corpus of the repository "
                   "(run it from the repository root, or pass --corpus)", err=True)
        raise typer.Exit(2)
    if update_card and model is None:
        typer.echo("error: --update-card needs --model (the folder whose card to rewrite)", err=True)
        raise typer.Exit(2)

    def parts(value: str) -> list[str]:
        return [s.strip() for s in value.split(",") if s.strip()]

    try:
        corpus_splits = parts(splits) if splits is not None else load_config(config).data.report_splits
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    report = evaluate(model, corpus, corpus_splits, out, baselines=baselines, update_card=update_card,
                      backend=backend, config=config, realdata=realdata, real_splits=parts(real_splits))
    typer.echo(report.markdown)


def calibrate_command(
    model: Optional[Path] = options.MODEL,
    backend: Optional[str] = options.BACKEND,
    config: Path = CONFIG,
    realdata: Optional[Path] = typer.Option(None, "--realdata", help="Folder of the real-text pool.jsonl "
                                            "(default: the config's, $MODERATION_REALDATA or ../shared/realdata)."),
) -> None:
    """Refit a model folder's temperatures and thresholds on the config's dev set, scored on the backend users run."""
    import dataclasses

    from .config import load_config
    from .export import calibrate_folder
    from .realdata import RealDataMissing, training_sets

    if model is None:
        typer.echo("error: calibrate rewrites a model folder's settings: name it with --model "
                   "(never the installed package's)", err=True)
        raise typer.Exit(2)
    cfg = load_config(config)
    data = dataclasses.replace(cfg.data, realdata=str(realdata)) if realdata else cfg.data
    try:
        _, dev = training_sets(data)
    except RealDataMissing as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    new = calibrate_folder(model, dev, backend=backend)
    typer.echo(f"{model}: calibrated on {len(dev)} dev entries ({new.extra['calibration']['backend']}); thresholds "
               + ", ".join(f"{label.value} {t:.3f}" for label, t in new.thresholds.items()))


def corpus_command(
    action: str = typer.Argument("check", metavar="ACTION",
                                 help="check: validate the corpus; card: refresh the dataset card's counts"),
    corpus: Path = CORPUS,
) -> None:
    """Check the labelled corpus against the dataset card's rules (or refresh the card's counts)."""
    from .corpus import main

    if not corpus.is_file():
        typer.echo(f"error: {corpus} not found: corpus commands work on the repository's corpus "
                   "(run them from the repository root, or pass --corpus)", err=True)
        raise typer.Exit(2)
    if action not in ("check", "card"):
        typer.echo("error: action must be check or card", err=True)
        raise typer.Exit(2)
    raise typer.Exit(main([action, "--corpus", str(corpus)]))


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("calibrate")(calibrate_command)
    app.command("corpus")(corpus_command)
