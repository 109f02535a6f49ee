"""Command-line options shared by the ``moderation`` commands, each defined once.

The training commands (``training/cli.py``, added through the ``moderation.commands``
entry point) use the same objects, so ``--model`` or ``--backend`` read the same way
and take the same values in every command.
"""

from __future__ import annotations

import typer

from .policy import WarningPolicy

#: Desk names of the packaged default policy, as listed in ``--desk``'s help.
DEFAULT_DESKS = ", ".join(WarningPolicy.default().desks)

MODEL = typer.Option(None, "--model", "-m", help="Model folder (default: the bundled model).")
# No envvar here: the library default (``backends.Backend.parse(None)``) is the one reader of
# $MODERATION_BACKEND, so every command and the Python API follow it alike.
BACKEND = typer.Option(
    None, "--backend",
    help="auto (int8 where onnxruntime is installed, else bf16 on CPUs with native bf16, else fp32), "
    "int8 (onnxruntime; built once and cached), bf16 or fp32. Default: $MODERATION_BACKEND, else auto.",
)
POLICY = typer.Option(None, "--policy", help="Warning policy YAML (default: the packaged policy, "
                      "moderation/policies/warnings.yaml).")
DESK = typer.Option(None, "--desk", help=f"Use this desk's thresholds from the policy (the default policy's "
                    f"desks: {DEFAULT_DESKS}).")
