"""Backends: one typed switch (``Backend``), one resolver, one runner class per backend.

A runner turns token windows into logits with one small interface,
``logits(windows) -> np.ndarray`` (one row of ``len(LABELS)`` logits per window;
windows are token ids with special tokens, sorted by length by the caller):

* ``Fp32Runner``: torch, length-sorted padded batches, ``inference_mode``;
* ``Bf16Runner``: the same under bfloat16 autocast (fast on CPUs with native bf16);
* ``Int8Runner``: ONNX Runtime on the int8 model built from the folder and cached
  (see ``onnx_backend``), one window per call.

``resolve_backend`` is the only place that reads ``$MODERATION_BACKEND`` and decides
what ``auto`` means; ``load_runner`` is the only place that falls back from int8.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import warnings
from enum import Enum
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .model_folder import ModelFolder, ModelLoadError

BACKEND_ENV = "MODERATION_BACKEND"
logger = logging.getLogger("moderation")


class Backend(str, Enum):
    """How the model runs. ``auto`` is resolved to one of the others by ``resolve_backend``."""

    AUTO = "auto"
    FP32 = "fp32"
    BF16 = "bf16"
    INT8 = "int8"

    def __str__(self) -> str:  # "int8", not "Backend.INT8"
        return self.value

    @classmethod
    def parse(cls, value: "Backend | str | None") -> "Backend":
        """A backend from a name; None is the library default: ``$MODERATION_BACKEND``, else ``auto``."""
        if value is None:
            value = os.environ.get(BACKEND_ENV) or cls.AUTO
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(b.value for b in cls)
            source = f" (from ${BACKEND_ENV})" if value == os.environ.get(BACKEND_ENV) else ""
            raise ValueError(f"backend must be one of {names}, not {value!r}{source}") from None


class _Int8Unavailable(ModelLoadError):
    """The int8 backend cannot run here (no cache folder, an unexportable model ...): ``auto`` warns and uses torch."""


def int8_available() -> bool:
    """onnxruntime is installed (checked without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_backend(value: Backend | str | None = None, *, int8: bool | None = None) -> Backend:
    """The backend to run: ``value`` itself unless it is ``auto`` (None: the library default, see ``Backend.parse``).

    ``auto`` is int8 when onnxruntime is importable (``int8`` overrides the check),
    else bf16 on CPUs with native bf16, else fp32.
    """
    backend = Backend.parse(value)
    if backend is not Backend.AUTO:
        return backend
    if int8_available() if int8 is None else int8:
        return Backend.INT8
    from .hardware import cpu_supports_bf16

    return Backend.BF16 if cpu_supports_bf16() else Backend.FP32


# -- runners ----------------------------------------------------------------------------------------


class Runner(Protocol):
    backend: Backend

    def logits(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        """Logits of each window, shape ``(len(windows), n_labels)``."""


class Fp32Runner:
    """A torch classifier on padded batches of ``batch_size`` windows."""

    backend = Backend.FP32
    #: Windows per model call: the fastest on the bench (2 cores, 136-token entries; fp32 54/s at 8,
    #: 51/s at 16, 58/s at 32).
    default_batch_size = 32

    def __init__(self, model, pad_token_id: int | None = 0, batch_size: int | None = None) -> None:
        self.model = model
        self.pad_token_id = pad_token_id or 0
        self.batch_size = batch_size or self.default_batch_size

    def logits(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        parts = []
        for start in range(0, len(windows), self.batch_size):
            batch = windows[start : start + self.batch_size]
            width = max(len(w) for w in batch)
            ids = np.full((len(batch), width), self.pad_token_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, window in enumerate(batch):
                ids[row, : len(window)] = window
                mask[row, : len(window)] = 1
            parts.append(self._forward(ids, mask))
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            logits = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
        return logits.float().numpy()


class Bf16Runner(Fp32Runner):
    """The torch classifier under bfloat16 autocast."""

    backend = Backend.BF16
    #: bf16 on the bench: 138/s at 8 windows per call, 128/s at 16, 115/s at 32.
    default_batch_size = 8

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            logits = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
        return logits.float().numpy()


class Int8Runner:
    """The int8 ONNX model, one window per call (see ``onnx_backend.OnnxClassifier``)."""

    backend = Backend.INT8

    def __init__(self, classifier) -> None:
        self.classifier = classifier

    @property
    def path(self) -> Path:
        """The cached int8 model file."""
        return self.classifier.path

    def logits(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        return self.classifier.logits(windows)


TORCH_RUNNERS: dict[Backend, type[Fp32Runner]] = {Backend.FP32: Fp32Runner, Backend.BF16: Bf16Runner}


def torch_runner(backend: Backend | str, model, pad_token_id: int | None, batch_size: int | None = None) -> Fp32Runner:
    """The runner of a torch backend (fp32, bf16, or auto: bf16 where the CPU has it) for a model in memory."""
    backend = resolve_backend(backend, int8=False)
    if backend not in TORCH_RUNNERS:
        raise ValueError(f"a torch model in memory runs on fp32 or bf16, not {backend}")
    return TORCH_RUNNERS[backend](model, pad_token_id, batch_size)


# -- loading -----------------------------------------------------------------------------------------


def load_runner(folder: ModelFolder, backend: Backend | str | None = None, *, batch_size: int | None = None,
                threads: int | None = None):
    """``(runner, tokenizer)`` for a checked model folder on ``backend`` (None: the library default).

    Under ``auto``, an int8 model that cannot be built or loaded here gives a
    ``UserWarning`` naming the reason, then the torch backend ``auto`` picks
    without int8; an explicitly requested int8 raises ``ModelLoadError`` instead.
    ``threads`` sets the intra-op threads (for the torch backends, process-wide).
    """
    requested = Backend.parse(backend)
    chosen = resolve_backend(requested)
    if chosen is Backend.INT8:
        try:
            return _int8_runner(folder, threads)
        except _Int8Unavailable as exc:
            if requested is not Backend.AUTO:
                raise
            chosen = resolve_backend(Backend.AUTO, int8=False)
            warnings.warn(f"auto backend: the int8 model is unavailable ({exc}); running {chosen} instead",
                          UserWarning, stacklevel=3)
    if threads:
        import torch

        torch.set_num_threads(threads)
    model, tokenizer = folder.load_torch()
    return TORCH_RUNNERS[chosen](model, tokenizer.pad_token_id, batch_size), tokenizer


def _int8_runner(folder: ModelFolder, threads: int | None):
    """The cached int8 model of ``folder`` (built on first use) and a tokenizer that needs no torch."""
    try:
        import onnxruntime  # noqa: F401

        from . import onnx_backend as ox
    except ImportError as exc:
        raise _Int8Unavailable(f"the int8 backend needs onnxruntime: pip install onnxruntime ({exc})") from exc
    try:
        tokenizer_path = folder.tokenizer_json()
    except ModelLoadError as exc:
        raise _Int8Unavailable(str(exc)) from exc
    cache = ox.cache_dir()
    if cache is None:
        raise _Int8Unavailable("no usable folder to cache the int8 model in (home, XDG_CACHE_HOME and the temp "
                               "dir were tried); set MODERATION_CACHE to a writable folder")
    version = re.sub(r"[^\w.+-]", "_", folder.config.version)
    target = cache / f"{version}-{ox.model_digest(folder.path, folder.base)}" / "model.int8.onnx"
    classifier = None
    if os.path.isfile(target):
        try:
            classifier = ox.OnnxClassifier(target, threads=threads)
        except ModelLoadError as exc:  # e.g. a truncated file
            logger.warning("%s; rebuilding it", exc)
    if classifier is None:
        _build_int8(folder, target)
        try:
            classifier = ox.OnnxClassifier(target, threads=threads)
        except ModelLoadError as exc:
            raise _Int8Unavailable(f"the int8 model just built does not load: {exc}") from exc
    return Int8Runner(classifier), ox.FastTokenizer(tokenizer_path)


def _build_int8(folder: ModelFolder, target: Path) -> None:
    """Export the model in ``folder`` to ``target``, checking that the cache can be written before loading torch."""
    from . import onnx_backend as ox

    try:
        ox.check_writable(target.parent)
    except OSError as exc:
        raise _Int8Unavailable(f"cannot write the int8 model to {target.parent} ({exc}); "
                               "set MODERATION_CACHE to a writable folder") from exc
    model, _ = folder.load_torch()
    logger.warning("building the int8 model once (about 10 s); cached in %s", target.parent)
    try:
        ox.export_int8(model, target)
    except ImportError as exc:
        raise _Int8Unavailable(f"building the int8 model needs onnx: pip install onnx ({exc})") from exc
    except OSError as exc:
        raise _Int8Unavailable(f"cannot write the int8 model to {target.parent}: {exc}") from exc
    except Exception as exc:  # an architecture the ONNX exporter cannot trace
        raise _Int8Unavailable(f"cannot export {folder.path} to ONNX: {exc}") from exc
