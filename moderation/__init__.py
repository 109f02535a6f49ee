"""Reader-safety labels for news: graphic violence, unverified rumour, solicitation.

>>> from moderation import Moderator
>>> mod = Moderator.from_pretrained()
>>> mod.predict("Text GIVE to 70085 to donate £5 to the flood appeal").labels
(<Label.SOLICITATION: 'solicitation'>,)

The heavy parts (torch, transformers) load only when a model is loaded.
"""

from __future__ import annotations

import os

# Nothing in this package may reach a model hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from .labels import LABELS, Label  # noqa: E402
from .policy import PolicyError, WarningPolicy  # noqa: E402
from .results import Entry, Prediction, ScreenedEntry  # noqa: E402

__version__ = "0.5.0"

__all__ = [
    "LABELS",
    "Backend",
    "Entry",
    "Label",
    "ModelLoadError",
    "Moderator",
    "PolicyError",
    "Prediction",
    "ScreenedEntry",
    "WarningPolicy",
    "parse_document",
]


def __getattr__(name: str):
    if name in ("Moderator", "ModelLoadError"):
        from . import model

        return getattr(model, name)
    if name == "Backend":
        from .backends import Backend

        return Backend
    if name == "parse_document":
        from .documents import parse_document

        return parse_document
    raise AttributeError(f"module 'moderation' has no attribute {name!r}")
