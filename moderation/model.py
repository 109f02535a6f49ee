"""The ``Moderator``: labels news entries with a model folder on a backend.

Everything that scores text goes through one path, ``Moderator.logits`` (and
``predict_proba`` on top of it): the text is normalised as users' text is, empty
text scores 0, long text is read as windows, and each label takes its maximum over
the windows. ``predict`` turns those calibrated probabilities into labels with the
one decision rule, ``labels.reaches``.

The model folder (format, loading, validation, card) is ``model_folder``; the
backends and their runners are ``backends``.
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence, overload

import numpy as np

from .backends import Backend, Runner, load_runner, resolve_backend, torch_runner
from .labels import LABELS, Label, reaches
from .model_folder import ModelConfig, ModelLoadError, open_folder
from .normalize import normalize_for_model
from .policy import WarningPolicy
from .results import Entry, Prediction, ScreenedEntry
from .windows import make_windows


class Moderator:
    """Labels news entries for graphic violence, unverified rumour and solicitation.

    >>> mod = Moderator.from_pretrained()          # the bundled model
    >>> mod.predict("Text X to 70070 to give £5")  # -> Prediction
    """

    def __init__(
        self,
        runner: Runner,
        tokenizer,
        config: ModelConfig,
        *,
        policy: WarningPolicy | None = None,
        desk: str | None = None,
    ) -> None:
        self.runner = runner
        self.tokenizer = tokenizer
        self.config = config
        self.policy = policy or WarningPolicy()
        self.desk = desk
        self.thresholds: dict[Label, float] = {**config.thresholds, **self.policy.thresholds_for(desk)}

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike | None = None,
        *,
        base_model: str | os.PathLike | None = None,
        policy: WarningPolicy | str | os.PathLike | None = None,
        desk: str | None = None,
        batch_size: int | None = None,
        backend: Backend | str | None = None,
        threads: int | None = None,
    ) -> "Moderator":
        """Load a model folder (default: the model bundled with the package).

        ``backend`` (a ``Backend`` or its name): ``int8`` (ONNX Runtime with int8
        weights, built from the model on first use and cached); ``bf16`` (torch
        autocast, fast on CPUs with native bf16); ``fp32``; or ``auto``: int8 where
        onnxruntime is installed, else bf16 where the CPU has it natively, else fp32.
        The default (None) is ``$MODERATION_BACKEND``, else ``auto``. Under ``auto``
        an int8 model that cannot be built here warns and falls back to torch. On the
        bench (2 cores, 136-token entries) int8 ran 5x the Hugging Face pipeline and
        bf16 3x, each agreeing with fp32 on over 99% of dev entries. ``batch_size``
        is windows per call on the torch backends; ``threads`` sets the intra-op
        threads (for the torch backends, process-wide).
        """
        backend = Backend.parse(backend)
        if policy is not None and not isinstance(policy, WarningPolicy):
            policy = WarningPolicy.from_yaml(policy)
        folder = open_folder(path, base_model)
        runner, tokenizer = load_runner(folder, backend, batch_size=batch_size, threads=threads)
        return cls(runner, tokenizer, folder.config, policy=policy, desk=desk)

    @classmethod
    def from_model(
        cls,
        model,
        tokenizer,
        config: ModelConfig,
        *,
        backend: Backend | str = Backend.FP32,
        batch_size: int | None = None,
        policy: WarningPolicy | None = None,
        desk: str | None = None,
    ) -> "Moderator":
        """A moderator on a torch classifier already in memory (fp32, bf16, or auto: bf16 where the CPU has it)."""
        runner = torch_runner(backend, model, tokenizer.pad_token_id, batch_size)
        return cls(runner, tokenizer, config, policy=policy, desk=desk)

    @property
    def version(self) -> str:
        return self.config.version

    @property
    def backend(self) -> Backend:
        return self.runner.backend

    # -- scoring: the one path ------------------------------------------------------------
    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Per-text, per-label maximum logit over the windows of the normalised text, shape ``(len(texts), 3)``.

        Text that is empty once normalised has nothing to read: its row is ``-inf``
        (probability 0).
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is {type(text).__name__}, not str")
        normalized = [normalize_for_model(t) for t in texts]
        keep = [i for i, t in enumerate(normalized) if t]
        out = np.full((len(texts), len(LABELS)), -np.inf, dtype=np.float32)
        if not keep:
            return out
        windows = make_windows(self.tokenizer, [normalized[i] for i in keep], self.config.max_length, self.config.stride)
        order = sorted(range(len(windows.input_ids)), key=lambda i: len(windows.input_ids[i]))
        logits = self.runner.logits([windows.input_ids[i] for i in order])
        for row, i in enumerate(order):
            owner = keep[windows.owner[i]]
            np.maximum(out[owner], logits[row], out=out[owner])
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape ``(len(texts), 3)`` in ``LABELS`` order: the scores ``predict`` decides on."""
        logits = self.logits(texts)
        temps = np.array([self.config.temperatures[label] for label in LABELS], dtype=np.float32)
        probs = np.zeros_like(logits)
        read = np.isfinite(logits).all(axis=1)
        probs[read] = 1.0 / (1.0 + np.exp(-logits[read] / temps))
        return probs

    def _prediction(self, probs: Iterable[float]) -> Prediction:
        scores = dict(zip(LABELS, (float(p) for p in probs)))
        labels = tuple(label for label in LABELS if reaches(scores[label], self.thresholds[label]))
        return Prediction(
            scores=scores,
            labels=labels,
            warnings=self.policy.warnings_for(labels),
            model_version=self.version,
            thresholds=self.thresholds,
        )

    @overload
    def predict(self, texts: str) -> Prediction: ...
    @overload
    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...

    def predict(self, texts):
        """One ``Prediction`` for a string; a list, in the same order, for a list of strings."""
        if isinstance(texts, str):
            return self.predict([texts])[0]
        return [self._prediction(row) for row in self.predict_proba(list(texts))]

    def screen(self, document: str, *, kind: str = "auto", source: str | None = None) -> list[ScreenedEntry]:
        """Split a live blog or article into entries and label each one."""
        from .documents import parse_document

        entries = parse_document(document, kind=kind, source=source)
        return self.screen_entries(entries)

    def screen_entries(self, entries: Sequence[Entry]) -> list[ScreenedEntry]:
        predictions = self.predict([entry.text for entry in entries])
        return [ScreenedEntry(entry, prediction) for entry, prediction in zip(entries, predictions)]


__all__ = ["Backend", "ModelConfig", "ModelLoadError", "Moderator", "resolve_backend"]
