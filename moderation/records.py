"""Archive input and output: JSON Lines, CSV and Parquet, with one output record per input record."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import secrets
import sqlite3
import stat
import sys
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

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


def _open_input(path: str) -> BinaryIO:
    """The input's binary stream (``-``: stdin); a folder or an unreadable file is an ``InputError``."""
    if path != "-" and Path(path).is_dir():
        raise InputError(f"{path} is a directory, not a file")
    try:
        return sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_bytes(path: str, limits: Limits | None = None) -> bytes:
    """The bytes of a file (``-``: stdin): a binary check on the first 4 KiB before reading on,
    and never more than ``max_input_bytes`` (``/dev/zero`` is refused, not read forever)."""
    limit = (limits or Limits.from_env()).max_input_bytes
    name = "<stdin>" if path == "-" else path
    fh = _open_input(path)
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
    """Records of an archive, read as a stream. Unusable records come back with ``error`` set, never dropped."""
    limits = limits or Limits.from_env()
    fmt = format_of(path, fmt)
    name = "<stdin>" if path == "-" else path
    with closing(_SeenIds()) as seen:
        if fmt == "parquet":
            yield from _read_parquet(path, name, seen, limits)
            return
        cap = limits.max_record_chars
        # Records end at "\n" only: U+2028, U+2029 and NEL are valid inside JSON strings.
        with _text_stream(path, name, limits, newline="\n" if fmt == "jsonl" else "") as text:
            if fmt == "jsonl":
                yield from _jsonl_records(text, name, seen, cap)
            else:
                yield from _csv_records(text, name, seen, cap)


def _jsonl_records(lines: Iterable[str], name: str, seen: _SeenIds, cap: int) -> Iterator[Record]:
    index = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip(" \t\r\n"):  # only JSON whitespace makes a line blank
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


def _csv_records(lines: Iterable[str], name: str, seen: _SeenIds, cap: int) -> Iterator[Record]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.DictReader(lines)
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


class _SeenIds:
    """The ids read so far, in a private temporary SQLite table: memory stays flat however long the archive."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": a temporary on-disk database, removed on close
        self._db.execute("CREATE TABLE ids (id BLOB PRIMARY KEY) WITHOUT ROWID")

    def __contains__(self, rid: str) -> bool:
        return self._db.execute("SELECT 1 FROM ids WHERE id = ?", (_key(rid),)).fetchone() is not None

    def add(self, rid: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO ids VALUES (?)", (_key(rid),))

    def close(self) -> None:
        self._db.close()


def _key(rid: str) -> bytes:
    return rid.encode("utf-8", errors="surrogatepass")  # ids may hold lone surrogates from JSON escapes


class _Source(io.RawIOBase):
    """An input's bytes, read on demand: a read error, or more than ``limit`` bytes, is an ``InputError``."""

    def __init__(self, fh: BinaryIO, name: str, limit: int, owned: bool) -> None:
        super().__init__()
        self.fh, self.name, self.limit, self.owned, self.count = fh, name, limit, owned, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        try:
            data = self.fh.read(len(buf))
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {exc.strerror or exc}") from exc
        self.count += len(data)
        if self.count > self.limit:
            raise _too_large(self.name, self.limit)
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self.owned and not self.closed:
            self.fh.close()
        super().close()


def _too_large(name: str, limit: int) -> InputError:
    return InputError(f"{name} is larger than the input limit of {limit:,} bytes "
                      "(set MODERATION_MAX_INPUT_BYTES, or split the file)")


@contextmanager
def _text_stream(path: str, name: str, limits: Limits, newline: str) -> Iterator[io.TextIOWrapper]:
    """An input (``-``: stdin) as text read in blocks, with the checks and decoding of ``read_text``."""
    fh = _open_input(path)
    with io.BufferedReader(_Source(fh, name, limits.max_input_bytes, owned=path != "-"), 1 << 16) as stream:
        if path != "-" and os.fstat(fh.fileno()).st_size > limits.max_input_bytes:
            raise _too_large(name, limits.max_input_bytes)
        head = stream.peek(4096)[:4096]
        codec = next((codec for bom, codec in _BOMS if head.startswith(bom)), None)
        if codec is None and b"\x00" in head:
            raise InputError(f"{name} looks like a binary file, not text")
        yield io.TextIOWrapper(stream, encoding=codec or "utf-8-sig", errors="replace", newline=newline)


def _read_parquet(path: str, name: str, seen: _SeenIds, limits: Limits) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover
        raise InputError("reading Parquet needs pyarrow (pip install pyarrow)") from exc
    source = io.BytesIO(_read_bytes(path, limits)) if path == "-" else path
    if path != "-" and Path(path).is_dir():
        raise InputError(f"{path} is a directory, not a file")
    try:
        parquet = pq.ParquetFile(source)
        columns = parquet.schema_arrow.names
        if "text" not in columns:
            raise InputError(f"{name}: Parquet needs a 'text' column (found: {columns})")
        batches = parquet.iter_batches(batch_size=1024, columns=[c for c in ("id", "title", "text") if c in columns])
        index = 0
        for batch in batches:
            for row in batch.to_pylist():
                index += 1
                yield make_record(row, str(index), f"{name}:row {index}", seen, limits.max_record_chars)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{name}: not a readable Parquet file ({exc})") from exc


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


_CSV_FIELDS = ["id", *[f"score_{l.value}" for l in LABELS], "labels", "warnings", "model_version", "error"]


def _csv_rows(records: Iterable[dict[str, Any]], header: bool) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS)
    if header:
        writer.writeheader()
    for rec in records:
        writer.writerow({k: csv_cell(v) for k, v in _flat(rec).items()})
    return to_utf8(buf.getvalue())


def _parquet_table(records: Iterable[dict[str, Any]]):
    import pyarrow as pa

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
    return pa.Table.from_pylist(clean, schema=schema)


@dataclass
class RecordWriter:
    """Writes output records to a binary file chunk by chunk: JSON Lines, CSV (one header) or Parquet (a row group a chunk)."""

    fh: BinaryIO
    fmt: str
    _parquet: Any = field(default=None, init=False, repr=False)
    _started: bool = field(default=False, init=False, repr=False)

    def write(self, records: list[dict[str, Any]]) -> None:
        """Append ``records`` to the file."""
        if self.fmt == "jsonl":
            self.fh.write(to_utf8("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)))
        elif self.fmt == "csv":
            self.fh.write(_csv_rows(records, header=not self._started))
        else:
            table = _parquet_table(records)
            if self._parquet is None:
                import pyarrow.parquet as pq

                self._parquet = pq.ParquetWriter(self.fh, table.schema)
            self._parquet.write_table(table)
        self._started = True

    def close(self) -> None:
        """Finish the file (CSV header, Parquet footer), also when no record was written; ``fh`` stays open."""
        if not self._started:
            self.write([])
        if self._parquet is not None:
            self._parquet.close()


def serialise(records: Iterable[dict[str, Any]], fmt: str) -> bytes:
    buf = io.BytesIO()
    writer = RecordWriter(buf, fmt)
    writer.write(list(records))
    writer.close()
    return buf.getvalue()


class OutputError(ValueError):
    """The output cannot be written safely (a link or another run in the way, a directory, the input itself)."""


@dataclass(frozen=True)
class OutputTarget:
    """Where output goes: stdout (``-``), an existing device or FIFO (written in place) or a regular file
    (replaced atomically, keeping its permission mode; a new file gets the umask's)."""

    path: str
    direct: bool = False  # stdout, a device or a FIFO: written in place, no temporary file
    mode: int | None = None  # permission bits (rwx, not setuid) of the regular file being replaced

    @classmethod
    def of(cls, path: str) -> "OutputTarget":
        """The target ``path`` names now (our own stdout, as ``/dev/stdout`` often is, is ``-``); a directory is refused."""
        if path == "-":
            return cls(path, direct=True)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return cls(path)
        if _is_stdout(st):  # written through our descriptor: a shell's ">>" appends, and /dev/stdout stays a link
            return cls("-", direct=True)
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{path} is a directory; name an output file")
        if stat.S_ISREG(st.st_mode):
            return cls(path, mode=st.st_mode & 0o777)
        return cls(path, direct=True)

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A binary file whose content reaches ``path`` only when the block succeeds (at once when direct)."""
        if self.path == "-":
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
            return
        if self.direct:
            with open(os.open(self.path, os.O_WRONLY), "wb") as fh:  # no O_CREAT: never a new regular file here
                yield fh
            return
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        fd = open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            with open(fd, "wb") as fh:
                if self.mode is not None:
                    os.fchmod(fh.fileno(), self.mode)
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _is_stdout(st: os.stat_result) -> bool:
    try:
        return os.path.samestat(st, os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):  # no real descriptor (captured, closed)
        return False


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` (see ``OutputTarget``); ``-`` is stdout."""
    with OutputTarget.of(path).open() as fh:
        fh.write(data)


def open_nofollow(path: Path, flags: int) -> int:
    """``os.open`` (mode 0o666 less the umask) that refuses a symbolic link at ``path`` with ``OutputError``."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and path.is_symlink()):
            raise OutputError(f"{path} is a symbolic link; refusing to follow it (remove it if it is not yours)") from None
        raise


@contextmanager
def output_lock(path: str) -> Iterator[None]:
    """Hold ``PATH.lock`` beside ``path`` exclusively for the block; a second writer fails at once with ``OutputError``."""
    import fcntl

    lock = Path(path).with_name(Path(path).name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = open_nofollow(lock, os.O_RDONLY | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
        except (BlockingIOError, FileNotFoundError):
            held = False
        if not held:  # locked by another run, or removed by it as it finished
            raise OutputError(f"another run is writing {path} (it holds {lock}); wait for it or choose another output")
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)
    finally:
        os.close(fd)
