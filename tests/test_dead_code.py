"""No field that is set but never read: such a field describes behaviour that does not exist
(as the old ``DataArgs.max_windows`` did) or carries a value nobody looks at."""

import ast
import dataclasses
from pathlib import Path

import pytest

from moderation.windows import Windows
from moderation_training.config import DataArgs, ModelArgs, OptimArgs, TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def attributes_read() -> set[str]:
    """Every attribute name read (``x.name`` in a load context) in the package sources: not comments,
    help text, keyword arguments or assignments."""
    return {node.attr for folder in ("moderation", "training") for path in (ROOT / folder).rglob("*.py")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)}


@pytest.mark.parametrize("cls", [TrainConfig, ModelArgs, DataArgs, OptimArgs, Windows], ids=lambda c: c.__name__)
def test_every_field_is_read_somewhere(cls):
    read = attributes_read()
    unread = [f.name for f in dataclasses.fields(cls) if f.name not in read]
    assert not unread, f"{cls.__name__}: {unread} set but never read"
