"""Reader content warnings: which wording, in which order, where, at which thresholds."""

from __future__ import annotations

import functools
import re
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import yaml

from .labels import LABELS, Label

PLACEMENTS = ("before", "after")
#: The default policy, packaged with the library (package data): the wording, order and placement
#: of the warnings and the shipped desks. Copy it to write your own and pass that with ``--policy``.
DEFAULT_POLICY_FILE = Path(__file__).parent / "policies" / "warnings.yaml"
#: Largest policy file read, in bytes (the shipped one is about 1 KB).
MAX_POLICY_BYTES = 64 * 1024
MAX_HEADING_CHARS = 100
MAX_WARNING_CHARS = 500
#: Deepest nesting of YAML collections (a policy needs 3: desks -> desk -> label).
MAX_DEPTH = 8
#: Characters that would start a new line or hide text in a rendered banner.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class PolicyError(ValueError):
    """A warning policy file is malformed."""


class _PolicyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases (no billion-laughs expansion) and with a nesting limit."""

    depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


@dataclass(frozen=True)
class WarningPolicy:
    """How predicted labels turn into warnings shown to readers.

    ``wording`` maps each label to its warning text, ``order`` says in which order
    warnings are listed, ``placement`` whether the banner goes before or after the
    entry, and ``desks`` holds per-desk threshold overrides (label -> probability).
    ``WarningPolicy()`` is the packaged default policy (``DEFAULT_POLICY_FILE``), desks
    included; a policy read from a file has exactly the desks that file lists.
    """

    wording: Mapping[Label, str] = field(
        default_factory=lambda: {label: label.default_warning for label in LABELS}
    )
    order: tuple[Label, ...] = LABELS
    placement: str = "before"
    heading: str = "Content warning"
    desks: Mapping[str, Mapping[Label, float]] = field(default_factory=lambda: WarningPolicy.default().desks)

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
    def default(cls) -> "WarningPolicy":
        """The packaged default policy (read once; policies are immutable)."""
        return _packaged_policy()

    @classmethod
    def from_yaml(cls, path: str | Path) -> "WarningPolicy":
        """Read a policy file: YAML of at most ``MAX_POLICY_BYTES``, without aliases."""
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_POLICY_BYTES + 1)
            if len(raw) > MAX_POLICY_BYTES:
                raise PolicyError(f"warning policy {path} is larger than {MAX_POLICY_BYTES} bytes")
            data = yaml.load(raw.decode("utf-8"), Loader=_PolicyLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise PolicyError(f"cannot read warning policy {path}: {_one_line(exc)}") from exc
        return cls.from_dict({} if data is None else data, where=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "policy") -> "WarningPolicy":
        """Build a policy from parsed YAML, checking the type of every field first."""
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}: expected a mapping at the top level")
        allowed = {"heading", "placement", "order", "labels", "desks"}
        unknown = set(data) - allowed
        if unknown:
            raise PolicyError(f"{where}: unknown keys {sorted(map(str, unknown))} (allowed: {sorted(allowed)})")
        kwargs: dict[str, Any] = {}
        if "heading" in data:
            kwargs["heading"] = _text(data["heading"], "heading", MAX_HEADING_CHARS, where)
        if "placement" in data:
            if data["placement"] not in PLACEMENTS:
                raise PolicyError(f"{where}: placement must be one of {PLACEMENTS}, got {reprlib.repr(data['placement'])}")
            kwargs["placement"] = data["placement"]
        if "order" in data:
            if not isinstance(data["order"], list):
                raise PolicyError(f"{where}: order must be a list of labels, got {reprlib.repr(data['order'])}")
            kwargs["order"] = tuple(_label(name, where) for name in data["order"])
        wording = {}
        for name, spec in _mapping(data.get("labels"), "labels", where).items():
            label = _label(name, where)
            if isinstance(spec, Mapping) and set(spec) == {"warning"}:
                spec = spec["warning"]
            elif not isinstance(spec, str):
                raise PolicyError(f"{where}: labels.{label} must be a string or {{warning: ...}}")
            wording[label] = _text(spec, f"labels.{label}", MAX_WARNING_CHARS, where)
        desks = {}
        for desk, thresholds in _mapping(data.get("desks"), "desks", where).items():
            desk = _text(desk, "desk name", MAX_HEADING_CHARS, where)
            checked = {}
            for name, value in _mapping(thresholds, f"desks.{desk}", where).items():
                label = _label(name, where)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise PolicyError(f"{where}: desks.{desk}.{label} must be a number, got {reprlib.repr(value)}")
                checked[label] = value
            desks[desk] = checked
        try:
            return cls(wording=wording, desks=desks, **kwargs)
        except ValueError as exc:
            raise PolicyError(f"{where}: {exc}") from exc


@functools.lru_cache(maxsize=1)
def _packaged_policy() -> WarningPolicy:
    return WarningPolicy.from_yaml(DEFAULT_POLICY_FILE)


def _label(name: Any, where: str) -> Label:
    try:
        return Label(name)
    except ValueError:
        raise PolicyError(f"{where}: unknown label {reprlib.repr(name)}") from None


def _mapping(value: Any, name: str, where: str) -> Mapping:
    """``value`` if a mapping, ``{}`` if empty (``desks:`` with nothing under it)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PolicyError(f"{where}: {name} must be a mapping, got {reprlib.repr(value)}")
    return value


def _text(value: Any, name: str, limit: int, where: str) -> str:
    """``value`` if a one-line string of 1 to ``limit`` characters."""
    if not isinstance(value, str) or not 0 < len(value) <= limit or _CONTROL.search(value):
        raise PolicyError(f"{where}: {name} must be a one-line string of 1 to {limit} characters, "
                          f"got {reprlib.repr(value)}")
    return value


def _one_line(exc: Exception) -> str:
    """A YAML or I/O error as one line, with the line number where YAML gives one."""
    mark = getattr(exc, "problem_mark", None)
    text = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        text += f" (line {mark.line + 1})"
    return " ".join(text.split())
