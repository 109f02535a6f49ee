"""Labelling text with a model folder.

The model folder (format, loading, validation, card) belongs to ``model_folder``;
the names that used to live here (``ModelLoadError``, ``ModelConfig``,
``load_model`` ...) are re-exported from it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterable, Sequence, overload

from .labels import LABELS, Label, reaches
from .model_folder import (  # noqa: F401  (re-exported: the names of the old single-module API)
    ADAPTER_NAME,
    BUNDLED_MODEL_DIR,
    MODEL_CONFIG_NAME,
    ModelConfig,
    ModelFolder,
    ModelLoadError,
    label_maps,
    load_base_classifier,
    load_model,
    open_folder,
    read_model_config,
    resolve_base_model,
)
from .policy import WarningPolicy
from .results import Entry, Prediction, ScreenedEntry
from .windows import make_windows

BACKENDS = ("fp32", "bf16", "int8", "auto")
#: Windows per model call for the torch backends: the fastest on the bench (2 cores,
#: 136-token entries; bf16 138/s at 8, 128/s at 16, 115/s at 32; fp32 54/s at 8, 51/s
#: at 16, 58/s at 32). The int8 backend always runs one window per call.
DEFAULT_BATCH_SIZE = {"int8": 1, "bf16": 8, "fp32": 32}
logger = logging.getLogger("moderation")


class _Int8Unavailable(ModelLoadError):
    """The int8 backend cannot run here (missing extra, unexportable model ...): ``auto`` notes it and uses torch."""

    level = logging.INFO


class _Int8NotCached(_Int8Unavailable):
    """There is no cache folder the int8 model can be written to: ``auto`` warns and uses torch."""

    level = logging.WARNING


def _build_int8(folder: ModelFolder, target: Path) -> None:
    """Export the model in ``folder`` to ``target``, checking that the cache can be written before loading torch."""
    from . import onnx_backend as ox

    try:
        ox.check_writable(target.parent)
    except OSError as exc:
        raise _Int8NotCached(f"cannot write the int8 model to {target.parent} ({exc}); "
                             "set MODERATION_CACHE to a writable folder") from exc
    model, _, _ = load_model(folder.path, base_model=folder.base)
    logger.warning("building the int8 model once (about 10 s); cached in %s", target.parent)
    try:
        ox.export_int8(model, target)
    except ImportError as exc:
        raise _Int8Unavailable(f"building the int8 model needs onnx: pip install 'news-moderation[onnx]' ({exc})") from exc
    except OSError as exc:
        raise _Int8NotCached(f"cannot write the int8 model to {target.parent}: {exc}") from exc
    except Exception as exc:  # an architecture the ONNX exporter cannot trace
        raise _Int8Unavailable(f"cannot export {folder.path} to ONNX: {exc}") from exc


class Moderator:
    """Labels news entries for graphic violence, unverified rumour and solicitation.

    >>> mod = Moderator.from_pretrained()          # the bundled model
    >>> mod.predict("Text X to 70070 to give £5")  # -> Prediction
    """

    def __init__(
        self,
        model,
        tokenizer,
        config: ModelConfig,
        *,
        policy: WarningPolicy | None = None,
        desk: str | None = None,
        batch_size: int | None = None,
        backend: str = "fp32",
        onnx=None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if backend == "auto":
            from .hardware import cpu_supports_bf16

            backend = "bf16" if cpu_supports_bf16() else "fp32"
        if backend == "int8" and onnx is None:
            raise ValueError("the int8 backend needs an OnnxClassifier (use Moderator.from_pretrained(backend='int8'))")
        self.backend = backend
        self.onnx = onnx
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.policy = policy or WarningPolicy()
        self.desk = desk
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE[backend]
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
        backend: str | None = None,
        threads: int | None = None,
    ) -> "Moderator":
        """Load a model folder (default: the model bundled with the package).

        ``backend``: ``int8`` (ONNX Runtime with int8 weights, built from the model on
        first use and cached; needs the ``onnx`` extra); ``bf16`` (torch autocast, fast
        on CPUs with native bf16); ``fp32``; or ``auto``, the default (also read from
        ``$MODERATION_BACKEND``): int8 where onnxruntime is installed, else bf16 where
        the CPU has it natively, else fp32. On the bench (2 cores, 136-token entries)
        int8 ran 5x the Hugging Face pipeline and bf16 3x, each agreeing with fp32 on
        over 99% of dev entries. ``threads`` sets the intra-op threads (for the torch
        backends, process-wide).
        """
        backend = backend or os.environ.get("MODERATION_BACKEND") or "auto"
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if policy is not None and not isinstance(policy, WarningPolicy):
            policy = WarningPolicy.from_yaml(policy)
        options = dict(policy=policy, desk=desk, batch_size=batch_size)
        folder = open_folder(path, base_model)
        if backend in ("int8", "auto"):
            try:
                return cls._from_pretrained_int8(folder, threads, **options)
            except _Int8Unavailable as exc:  # a ModelLoadError
                if backend == "int8":
                    raise
                logger.log(exc.level, "auto backend: %s; using torch", exc)
        if threads:
            import torch

            torch.set_num_threads(threads)
        model, tokenizer, config = load_model(folder.path, base_model=folder.base)
        return cls(model, tokenizer, config, backend=backend, **options)

    @classmethod
    def _from_pretrained_int8(cls, folder: ModelFolder, threads, **kwargs) -> "Moderator":
        try:
            import onnxruntime  # noqa: F401

            from . import onnx_backend as ox
        except ImportError as exc:
            raise _Int8Unavailable("the int8 backend needs onnxruntime: pip install 'news-moderation[onnx]'") from exc
        config = folder.config
        try:
            tokenizer_path = folder.tokenizer_json()
        except ModelLoadError as exc:
            raise _Int8Unavailable(str(exc)) from exc
        cache = ox.cache_dir()
        if cache is None:
            raise _Int8NotCached("no usable folder to cache the int8 model in (home, XDG_CACHE_HOME and the temp "
                                 "dir were tried); set MODERATION_CACHE to a writable folder")
        version = re.sub(r"[^\w.+-]", "_", config.version)
        target = cache / f"{version}-{ox.model_digest(folder.path, folder.base)}" / "model.int8.onnx"
        onnx = None
        if os.path.isfile(target):
            try:
                onnx = ox.OnnxClassifier(target, threads=threads)
            except ModelLoadError as exc:  # e.g. a truncated file
                logger.warning("%s; rebuilding it", exc)
        if onnx is None:
            _build_int8(folder, target)
            try:
                onnx = ox.OnnxClassifier(target, threads=threads)
            except ModelLoadError as exc:
                raise _Int8Unavailable(f"the int8 model just built does not load: {exc}") from exc
        return cls(None, ox.FastTokenizer(tokenizer_path), config, backend="int8", onnx=onnx, **kwargs)

    @property
    def version(self) -> str:
        return self.config.version

    # -- scoring -----------------------------------------------------------------
    def window_logits(self, texts: Sequence[str]):
        """Per-text, per-label maximum logit over the text's windows, as a numpy array."""
        import numpy as np

        windows = make_windows(self.tokenizer, texts, self.config.max_length, self.config.stride)
        out = np.full((len(texts), len(LABELS)), -np.inf, dtype=np.float32)
        order = sorted(range(len(windows.input_ids)), key=lambda i: len(windows.input_ids[i]))
        if self.backend == "int8":  # one window per call (see OnnxClassifier): no padding, no batches
            logits = self.onnx.logits([windows.input_ids[i] for i in order])
            for row, i in enumerate(order):
                np.maximum(out[windows.owner[i]], logits[row], out=out[windows.owner[i]])
            return out
        pad = self.tokenizer.pad_token_id or 0
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(windows.input_ids[i]) for i in idx)
            ids = np.full((len(idx), width), pad, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                seq = windows.input_ids[i]
                ids[row, : len(seq)] = seq
                mask[row, : len(seq)] = 1
            logits = self._logits(ids, mask)
            for row, i in enumerate(idx):
                owner = windows.owner[i]
                np.maximum(out[owner], logits[row], out=out[owner])
        return out

    def _logits(self, ids, mask):
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.backend == "bf16"):
            logits = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
        return logits.float().numpy()

    def predict_proba(self, texts: Sequence[str]):
        """Calibrated probabilities, shape ``(len(texts), 3)`` in ``LABELS`` order."""
        import numpy as np

        if not len(texts):
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        logits = self.window_logits(texts)
        temps = np.array([self.config.temperatures[label] for label in LABELS], dtype=np.float32)
        return 1.0 / (1.0 + np.exp(-logits / temps))

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
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is {type(text).__name__}, not str")
        import numpy as np

        from .normalize import normalize_for_model

        normalized = [normalize_for_model(t) for t in texts]
        # Empty or whitespace-only text has nothing to warn about: scores 0, no labels.
        keep = [i for i, t in enumerate(normalized) if t]
        probs = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if keep:
            probs[keep] = self.predict_proba([normalized[i] for i in keep])
        return [self._prediction(row) for row in probs]

    def screen(self, document: str, *, kind: str = "auto", source: str | None = None) -> list[ScreenedEntry]:
        """Split a live blog or article into entries and label each one."""
        from .documents import parse_document

        entries = parse_document(document, kind=kind, source=source)
        return self.screen_entries(entries)

    def screen_entries(self, entries: Sequence[Entry]) -> list[ScreenedEntry]:
        predictions = self.predict([entry.text for entry in entries])
        return [ScreenedEntry(entry, prediction) for entry, prediction in zip(entries, predictions)]
