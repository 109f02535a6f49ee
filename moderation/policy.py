"""Reader content warnings: which wording, in which order, where, at which thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import yaml

from .labels import LABELS, Label

PLACEMENTS = ("before", "after")


class PolicyError(ValueError):
    """A warning policy file is malformed."""


@dataclass(frozen=True)
class WarningPolicy:
    """How predicted labels turn into warnings shown to readers.

    ``wording`` maps each label to its warning text, ``order`` says in which order
    warnings are listed, ``placement`` whether the banner goes before or after the
    entry, and ``desks`` holds per-desk threshold overrides (label -> probability).
    """

    wording: Mapping[Label, str] = field(
        default_factory=lambda: {label: label.default_warning for label in LABELS}
    )
    order: tuple[Label, ...] = LABELS
    placement: str = "before"
    heading: str = "Content warning"
    desks: Mapping[str, Mapping[Label, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise PolicyError(f"placement must be one of {PLACEMENTS}, not {self.placement!r}")
        order = tuple(Label(label) for label in self.order)
        missing = [label.value for label in LABELS if label not in order]
        if missing or len(set(order)) != len(order):
            raise PolicyError(f"order must list every label exactly once (missing: {missing})")
        wording = {Label(k): str(v) for k, v in self.wording.items()}
        for label in LABELS:
            wording.setdefault(label, label.default_warning)
        desks = {}
        for desk, thresholds in self.desks.items():
            checked = {}
            for label, value in thresholds.items():
                value = float(value)
                if not 0.0 < value < 1.0:
                    raise PolicyError(f"desk {desk!r}: threshold for {label} must be in (0, 1), got {value}")
                checked[Label(label)] = value
            desks[str(desk)] = MappingProxyType(checked)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "wording", MappingProxyType(wording))
        object.__setattr__(self, "desks", MappingProxyType(desks))

    def warnings_for(self, labels: Iterable[Label]) -> tuple[str, ...]:
        present = set(labels)
        return tuple(self.wording[label] for label in self.order if label in present)

    def thresholds_for(self, desk: str | None) -> Mapping[Label, float]:
        """Threshold overrides of a desk; ``{}`` for no desk. Unknown desks are an error."""
        if desk is None:
            return {}
        try:
            return self.desks[desk]
        except KeyError:
            known = ", ".join(sorted(self.desks)) or "none defined"
            raise PolicyError(f"unknown desk {desk!r} (known: {known})") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> "WarningPolicy":
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PolicyError(f"cannot read warning policy {path}: {exc}") from exc
        return cls.from_dict(data or {}, where=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "policy") -> "WarningPolicy":
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}: expected a mapping at the top level")
        allowed = {"heading", "placement", "order", "labels", "desks"}
        unknown = set(data) - allowed
        if unknown:
            raise PolicyError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")
        wording = {}
        for name, spec in (data.get("labels") or {}).items():
            label = _label(name, where)
            if isinstance(spec, str):
                wording[label] = spec
            elif isinstance(spec, Mapping) and set(spec) <= {"warning"} and "warning" in spec:
                wording[label] = str(spec["warning"])
            else:
                raise PolicyError(f"{where}: labels.{name} must be a string or {{warning: ...}}")
        desks = {
            str(desk): {_label(k, where): v for k, v in (thresholds or {}).items()}
            for desk, thresholds in (data.get("desks") or {}).items()
        }
        kwargs: dict[str, Any] = {"wording": wording, "desks": desks}
        if "order" in data:
            kwargs["order"] = tuple(_label(name, where) for name in data["order"])
        for key in ("placement", "heading"):
            if key in data:
                kwargs[key] = str(data[key])
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise PolicyError(f"{where}: {exc}") from exc


def _label(name: str, where: str) -> Label:
    try:
        return Label(name)
    except ValueError:
        raise PolicyError(f"{where}: unknown label {name!r}") from None
