"""Archive input and output: JSON Lines, CSV and Parquet, with one output record per input record."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .labels import LABELS

FORMATS = ("jsonl", "csv", "parquet")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Limits:
    """Input size limits: a larger file is refused whole, a longer record becomes that record's error."""

    max_input_bytes: int = 4 * 1024**3  # 4 GiB a file
    max_record_chars: int = 1_000_000  # about 150,000 words a record

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, overridden by ``MODERATION_MAX_INPUT_BYTES`` / ``MODERATION_MAX_RECORD_CHARS``."""
        kwargs = {}
        for name, env in (("max_input_bytes", "MODERATION_MAX_INPUT_BYTES"), ("max_record_chars", "MODERATION_MAX_RECORD_CHARS")):
            if os.environ.get(env):
                try:
                    kwargs[name] = int(os.environ[env])
                except ValueError:
                    raise InputError(f"{env} must be a whole number, not {os.environ[env]!r}") from None
        return cls(**kwargs)


#: Largest CSV field read (the csv module's default, 131,072 characters, is below a long article).
CSV_FIELD_LIMIT = 16 * 1024 * 1024


class InputError(ValueError):
    """The input as a whole cannot be read (missing file, wrong format, no text column)."""


@dataclass(frozen=True)
class Record:
    """One input record. ``error`` is set when the record itself is unusable."""

    id: str
    text: str | None
    title: str | None = None
    where: str = ""  # "file:line" for messages
    error: str | None = None

    @property
    def model_text(self) -> str:
        """What the model reads: the title (if any) as headline, then the text."""
        if self.title and self.text is not None:
            return f"{self.title}\n{self.text}"
        return self.text or ""


def format_of(path: str, explicit: str | None = None, default: str = "jsonl") -> str:
    if explicit:
        if explicit not in FORMATS:
            raise InputError(f"format must be one of {FORMATS}, not {explicit!r}")
        return explicit
    if path == "-":
        return default
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise InputError(f"cannot tell the format of {path!r} from its extension (use .jsonl, .csv or .parquet)")
    return _EXTENSIONS[suffix]


def _read_bytes(path: str, limits: Limits | None = None) -> bytes:
    """The bytes of a file (``-``: stdin): a binary check on the first 4 KiB before reading on,
    and never more than ``max_input_bytes`` (``/dev/zero`` is refused, not read forever)."""
    limit = (limits or Limits.from_env()).max_input_bytes
    name = "<stdin>" if path == "-" else path
    if path != "-" and Path(path).is_dir():
        raise InputError(f"{path} is a directory, not a file")
    try:
        fh = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        head = fh.read(4096)
        if b"\x00" in head and not head.startswith(tuple(bom for bom, _ in _BOMS)):
            raise InputError(f"{name} looks like a binary file, not text")
        rest = fh.read(max(0, limit - len(head)) + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from exc
    finally:
        if path != "-":
            fh.close()
    if len(head) + len(rest) > limit:
        raise InputError(f"{name} is larger than the input limit of {limit:,} bytes "
                         "(set MODERATION_MAX_INPUT_BYTES, or split the file)")
    return head + rest


def read_text(path: str, limits: Limits | None = None) -> str:
    """A text input (``-`` for stdin) as a string; invalid UTF-8 bytes are replaced."""
    return _decode(_read_bytes(path, limits), "<stdin>" if path == "-" else path)


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))


def _decode(data: bytes, path: str) -> str:
    """UTF-16 and UTF-32 files with a byte-order mark are decoded as such; anything else as UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if b"\x00" in data[:4096]:
        raise InputError(f"{path} looks like a binary file, not text")
    return data.decode("utf-8-sig", errors="replace")


def make_record(obj: Any, default_id: str, where: str, seen: set[str], max_chars: int | None = None) -> Record:
    """A ``Record`` from one parsed input row; ``default_id`` stands in for a missing id."""
    if not isinstance(obj, dict):
        return Record(id=default_id, text=None, where=where, error=f"{where}: expected a JSON object, got {type(obj).__name__}")
    raw_id = obj.get("id")
    rid = default_id if raw_id is None or raw_id == "" else str(raw_id)
    text, title = obj.get("text"), obj.get("title")
    error = None
    if rid in seen:
        error = f"{where}: duplicate id {rid!r}"
    elif not isinstance(text, str):
        kind = "missing" if "text" not in obj else ("null" if text is None else type(text).__name__)
        error = f"{where}: id {rid!r}: text must be a string (got {kind})"
        text = None
    elif max_chars is not None and len(text) + len(title if isinstance(title, str) else "") > max_chars:
        error = (f"{where}: id {rid!r}: text is {len(text):,} characters, over the record limit of "
                 f"{max_chars:,} (MODERATION_MAX_RECORD_CHARS)")
        text = None
    seen.add(rid)
    title = title if isinstance(title, str) and title.strip() else None
    return Record(id=rid, text=text, title=title, where=where, error=error)


def read_records(path: str, fmt: str | None = None, limits: Limits | None = None) -> Iterator[Record]:
    """Records of an archive. Unusable records come back with ``error`` set, never dropped."""
    limits = limits or Limits.from_env()
    fmt = format_of(path, fmt)
    name = "<stdin>" if path == "-" else path
    seen: set[str] = set()
    if fmt == "parquet":
        yield from _read_parquet(path, name, seen, limits)
        return
    text = read_text(path, limits)
    cap = limits.max_record_chars
    if fmt == "jsonl":
        index = 0
        # Records end at "\n" only: U+2028, U+2029 and NEL are valid inside JSON strings.
        for lineno, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            index += 1
            where = f"{name}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Record(id=str(index), text=None, where=where, error=f"{where}: invalid JSON ({exc.msg})")
                continue
            except (ValueError, RecursionError) as exc:  # nesting too deep, integer too long
                reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
                yield Record(id=str(index), text=None, where=where, error=f"{where}: unreadable JSON ({reason})")
                continue
            yield make_record(obj, str(index), where, seen, cap)
    else:
        csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or "text" not in reader.fieldnames:
            raise InputError(f"{name}: CSV needs a 'text' column (found: {reader.fieldnames or 'none'})")
        index = 0
        while True:
            index += 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # one broken row is that row's error; the run goes on
                where = f"{name}:{reader.line_num}"
                yield Record(id=str(index), text=None, where=where, error=f"{where}: unreadable CSV row ({exc})")
                continue
            yield make_record(row, str(index), f"{name}:{reader.line_num}", seen, cap)


def _read_parquet(path: str, name: str, seen: set[str], limits: Limits) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover
        raise InputError("reading Parquet needs pyarrow (pip install pyarrow)") from exc
    source = io.BytesIO(_read_bytes(path, limits)) if path == "-" else path
    if path != "-" and Path(path).is_dir():
        raise InputError(f"{path} is a directory, not a file")
    try:
        table = pq.read_table(source)
    except Exception as exc:
        raise InputError(f"{name}: not a readable Parquet file ({exc})") from exc
    if "text" not in table.column_names:
        raise InputError(f"{name}: Parquet needs a 'text' column (found: {table.column_names})")
    for index, row in enumerate(table.to_pylist(), start=1):
        yield make_record(row, str(index), f"{name}:row {index}", seen, limits.max_record_chars)


# -- output -------------------------------------------------------------------
def output_record(record: Record, prediction=None, error: str | None = None, model_version: str = "") -> dict[str, Any]:
    """The output form of one record: id, scores, labels, warnings, model_version (and error)."""
    out: dict[str, Any] = {"id": record.id}
    if prediction is not None:
        out.update(prediction.to_dict())
    else:
        out.update({"scores": None, "labels": [], "warnings": [], "model_version": model_version})
    out["error"] = error
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @``, tab or CR gets a ``'`` first."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _flat(rec: dict[str, Any]) -> dict[str, Any]:
    scores = rec.get("scores") or {}
    row = {"id": rec["id"]}
    for label in LABELS:
        value = scores.get(label.value)
        row[f"score_{label.value}"] = "" if value is None else value
    row["labels"] = ",".join(rec.get("labels") or [])
    row["warnings"] = " | ".join(rec.get("warnings") or [])
    row["model_version"] = rec.get("model_version", "")
    row["error"] = rec.get("error") or ""
    return row


def to_utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text``; lone surrogates (from JSON escapes) become ``\\udXXX`` escapes."""
    return text.encode("utf-8", errors="backslashreplace")


def serialise(records: Iterable[dict[str, Any]], fmt: str) -> bytes:
    records = list(records)
    if fmt == "jsonl":
        return to_utf8("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    if fmt == "csv":
        buf = io.StringIO(newline="")
        fields = ["id", *[f"score_{l.value}" for l in LABELS], "labels", "warnings", "model_version", "error"]
        writer = csv.DictWriter(buf, fieldnames=fields)
        writer.writeheader()
        for rec in records:
            writer.writerow({k: csv_cell(v) for k, v in _flat(rec).items()})
        return to_utf8(buf.getvalue())
    import pyarrow as pa
    import pyarrow.parquet as pq

    score_type = pa.struct([(l.value, pa.float64()) for l in LABELS])
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("scores", score_type),
            ("labels", pa.list_(pa.string())),
            ("warnings", pa.list_(pa.string())),
            ("model_version", pa.string()),
            ("error", pa.string()),
        ]
    )
    clean = [{**r, "id": to_utf8(r["id"]).decode("utf-8"), "error": r.get("error") and to_utf8(r["error"]).decode("utf-8")}
             for r in records]
    table = pa.Table.from_pylist(clean, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename; ``-`` is stdout."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
