"""Fuzz tests, deterministic and fast (hypothesis with derandomize=True, seeded random HTML).

1. Random bytes as a JSON Lines file, a CSV file and a text document through ``moderation label`` and
   ``moderation screen``: never a traceback, exit code 0/1/2 only, and for ``label`` one output record per
   non-blank input line (JSON Lines, split on "\\n" only) or per CSV row, in order.
2. Random JSON values, one per line (nested values, huge ints, NaN, U+2028/U+2029/NEL, escaped lone surrogates,
   deep nesting, non-object lines, duplicate ids): one output record per input line, in order, each
   labelled or carrying an ``error``, in JSON Lines, CSV and Parquet output.
3. Random HTML tag soup (svg, noscript, script, style, template, title, an unclosed <head>, unclosed tags,
   entities, comments, CDATA) through ``parse_document(kind="html")`` and ``moderation screen --kind html``:
   every word a reader sees (outside script, style, template and title) is in some entry's text.

The CLI runs in-process (typer's CliRunner) on the tiny model, loaded once for the module (fp32).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import traceback
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from moderation.cli import app  # noqa: E402
from moderation.documents import parse_document  # noqa: E402

FUZZ = settings(
    derandomize=True,  # the same examples on every run
    database=None,  # no .hypothesis folder in the tree
    deadline=None,
    max_examples=25,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
LABEL_NAMES = {"graphic_violence", "unverified_rumour", "solicitation"}
_names = itertools.count()


# -- running the CLI ------------------------------------------------------------------------------------------
class Cli:
    """``moderation`` in-process on the tiny model, every run checked for tracebacks and exit codes."""

    def __init__(self, model: Path, folder: Path) -> None:
        self.model, self.folder, self.runner = model, folder, CliRunner()

    def path(self, suffix: str) -> Path:
        return self.folder / f"f{next(_names)}{suffix}"

    def __call__(self, *args, input: bytes | None = None):
        argv = [str(a) for a in args] + ["--model", str(self.model), "--backend", "fp32"]
        result = self.runner.invoke(app, argv, input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            tb = "".join(traceback.format_exception(*result.exc_info))
            raise AssertionError(f"moderation {' '.join(map(str, args))} raised:\n{tb}")
        assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        if result.exit_code == 2:
            assert result.stderr.startswith("error: "), result.stderr
        return result


@pytest.fixture(scope="module")
def cli(tiny_model, tmp_path_factory):
    """The CLI with ``Moderator.from_pretrained(tiny_model, backend="fp32")`` loaded once for the module."""
    from moderation.model import Moderator

    moderator = Moderator.from_pretrained(tiny_model, backend="fp32")
    load = Moderator.from_pretrained.__func__

    def cached(cls, path=None, **kwargs):
        plain = kwargs.get("backend") == "fp32" and kwargs.get("policy") is None and kwargs.get("desk") is None
        if plain and path is not None and Path(path) == tiny_model:
            return moderator
        return load(cls, path, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Moderator, "from_pretrained", classmethod(cached))
        yield Cli(tiny_model, tmp_path_factory.mktemp("fuzz"))


def run_label(cli: Cli, data: bytes, in_suffix: str, out_fmt: str = "jsonl", stdio: bool = False):
    """``moderation label`` on ``data``; (result, output bytes or None). Checks what is left beside the output."""
    if stdio:
        result = cli("label", "-", "-o", "-", "-q", "--output-format", out_fmt, input=data)
        return result, (result.stdout_bytes if result.exit_code == 0 else None)
    src, out = cli.path(in_suffix), cli.path(f".{out_fmt}")
    src.write_bytes(data)
    result = cli("label", src, "-o", out, "-q")
    leftovers = [p.name for p in cli.folder.glob(f"*{out.name}*") if p != out]
    assert not leftovers, f"left beside the output: {leftovers}"  # no .partial.jsonl, .lock or temporary file
    if result.exit_code != 0:
        assert not out.exists(), "a failed run wrote its output"
        return result, None
    return result, out.read_bytes()


def jsonl_out(data: bytes) -> list[dict]:
    lines = data.decode("utf-8").split("\n")
    assert lines[-1] == "", "output does not end with a newline"
    return [json.loads(line) for line in lines[:-1]]


def check_record(rec: dict, labelled: bool | None = None) -> None:
    """An output record is labelled (scores, no error) or carries an error (no scores)."""
    assert set(rec) >= {"id", "scores", "labels", "warnings", "model_version", "error"}, rec
    assert isinstance(rec["id"], str)
    if rec["error"] is None:
        assert set(rec["scores"]) == LABEL_NAMES and all(0.0 <= v <= 1.0 for v in rec["scores"].values()), rec
        assert set(rec["labels"]) <= LABEL_NAMES
    else:
        assert isinstance(rec["error"], str) and rec["error"] and rec["scores"] is None and rec["labels"] == [], rec
    if labelled is not None:
        assert (rec["error"] is None) == labelled, rec


# -- what the input holds (the documented reading rules) ----------------------------------------------------------
BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
JSON_SPACE = " \t\r"  # what JSON calls whitespace, besides the "\n" that ends a line


def decoded(data: bytes) -> str | None:
    """The text of an input: UTF-16/32 with a byte-order mark, else UTF-8 (bad bytes replaced); None: binary."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if b"\x00" in data[:4096]:
        return None
    return data.decode("utf-8-sig", errors="replace")


def jsonl_lines(text: str) -> list[str]:
    """The records of a JSON Lines text: lines split on "\\n" only, blank (JSON whitespace only) lines skipped."""
    return [line for line in text.split("\n") if line.strip(JSON_SPACE)]


# -- 1. random bytes --------------------------------------------------------------------------------------------
KNOWN = object()  # a well-formed record with a known id, to check the order
ODD_BYTES = [
    b"", b" ", b"\r", b"\t \r", b"\xef\xbb\xbf", b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xc2\x85", b"\x0b", b"\x0c",
    b"\x1c", b"\xc2\xa0", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"{", b'{"id":', b"{}", b"[]", b"null",
    b'"\\ud800"', b'{"text": 1}', b'"', b",", b'"a,b', b'\\', b"\r\n\r",
]
chunk = st.one_of(st.binary(max_size=24), st.sampled_from(ODD_BYTES), st.just(KNOWN))


@st.composite
def byte_files(draw, known_row):
    """Random bytes in "\\n"-separated pieces, some of them known records; sometimes UTF-16/32 with a BOM."""
    pieces = draw(st.lists(chunk, max_size=10))
    seps = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\n \n"]), min_size=len(pieces), max_size=len(pieces)))
    known = {}
    out = []
    for piece, sep in zip(pieces, seps):
        if piece is KNOWN:
            rid = f"known-{len(known)}-id"
            piece = known_row(rid, len(known))
            known[piece.decode()] = rid
        out.append(piece + sep)
    data = b"".join(out)
    if not draw(st.booleans()):
        data = data.rstrip(b"\n")
    codec = draw(st.sampled_from([None] * 6 + ["utf-16", "utf-32", "utf-16-be", "utf-16-no-bom"]))
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data.decode("utf-8", "replace").encode("utf-16-be")
    elif codec == "utf-16-no-bom":
        data = data.decode("utf-8", "replace").encode("utf-16-le")  # NUL bytes and no BOM: binary
    elif codec:
        data = data.decode("utf-8", "replace").encode(codec) + draw(st.sampled_from([b"", b"\xff"]))
    return data, known


@FUZZ
@given(byte_files(lambda rid, i: json.dumps({"id": rid, "text": f"known record {i}"}).encode()), st.booleans())
def test_label_random_bytes_jsonl(cli, case, stdio):
    data, known = case
    result, out = run_label(cli, data, ".jsonl", stdio=stdio)
    text = decoded(data)
    if text is None:
        assert result.exit_code == 2 and "binary" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    lines = jsonl_lines(text)
    records = jsonl_out(out)
    assert len(records) == len(lines), f"{len(lines)} non-blank lines {lines!r} gave {len(records)} records"
    for line, rec in zip(lines, records):
        check_record(rec)
        if line.rstrip("\r") in known:
            assert rec["id"] == known[line.rstrip("\r")] and rec["error"] is None, (line, rec)


CSV_HEADERS = [b"id,text", b"text,id,title", b'"id","text"', b"\xef\xbb\xbfid,text", b"text,id", b"ID,Text", b"id;text", b""]


@st.composite
def csv_files(draw):
    header = draw(st.sampled_from(CSV_HEADERS))
    text_first = header.startswith(b"text")
    body, known = draw(byte_files(lambda rid, i: (f"known {i},{rid}," if text_first else f"{rid},known {i}").encode()))
    return header + draw(st.sampled_from([b"\n", b"\r\n", b""])) + body, known


def csv_rows(text: str) -> list[list[str]] | None:
    """The data rows of a CSV text (as csv.DictReader reads them: blank rows skipped); None: no 'text' column."""
    csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or "text" not in header:
        return None
    rows = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error:
            row = ["<error>"]
        if row:
            rows.append(row)


@FUZZ
@given(csv_files())
def test_label_random_bytes_csv(cli, case):
    data, known = case
    result, out = run_label(cli, data, ".csv")
    text = decoded(data)
    rows = None if text is None else csv_rows(text)
    if rows is None:
        assert result.exit_code == 2, result.stderr
        return
    assert result.exit_code == 0, result.stderr
    records = jsonl_out(out)
    assert len(records) == len(rows), f"{len(rows)} CSV rows gave {len(records)} records"
    for rec in records:
        check_record(rec)
    order = [int(rec["id"].split("-")[1]) for rec in records if rec["id"] in known.values()]
    assert order == sorted(set(order)), f"known records out of order or repeated: {order}"


@FUZZ
@given(
    byte_files(lambda rid, i: f"- Jane Doe\nPost {i}: <p>{rid}</p>".encode()),
    st.sampled_from(["auto", "liveblog", "article", "html"]),
    st.sampled_from(["text", "markdown", "html", "jsonl"]),
    st.booleans(),
)
def test_screen_random_bytes(cli, case, kind, fmt, stdio):
    data, _ = case
    if stdio:
        result = cli("screen", "-", "--kind", kind, "--format", fmt, input=data)
    else:
        src = cli.path(".txt")
        src.write_bytes(data)
        result = cli("screen", src, "--kind", kind, "--format", fmt)
    text = decoded(data)
    if text is None or not text.strip():
        assert result.exit_code == 2, result.stdout
        return
    assert result.exit_code in (0, 2), result.stderr  # 2: nothing readable in it
    if result.exit_code == 0:
        assert result.stdout.strip()
        if fmt == "jsonl":
            entries = jsonl_out(result.stdout_bytes)
            assert entries and all(isinstance(e["text"], str) and e["text"].strip() for e in entries)


# -- 2. random JSON values, one per line ------------------------------------------------------------------------
ODD_CHARS = ["\u2028", "\u2029", "\x85", "\n", "\r", "\x00", "\x1b", "\ud800", "\udfff", "\ufeff", "\u202e",
             '"', "\\", "\x0b", "\u200b", "é", "👍", " "]
weird_text = st.text(st.one_of(st.characters(), st.sampled_from(ODD_CHARS)), max_size=12)
leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(), weird_text,
)
json_value = st.recursive(
    leaf,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(weird_text | st.sampled_from(["id", "text"]), kids, max_size=3),
    max_leaves=8,
)
id_pool = st.sampled_from([1, "1", 1.0, "1.0", True, "True", "a", "", None, "\ud800", "x\u2028y", [1], {"k": None},
                           float("nan"), float("inf"), -0.0, 10**30, "=cmd()", "-1", "\t"])
DEEP = 100_000


def deep(n: int) -> str:
    return "[" * n + "]" * n


# (line, certain): a line whose outcome depends on the stack depth left (nesting near the recursion limit)
# may be labelled or refused, but must still give exactly one record.
RAW_LINES = [
    ("1" * 5000, True), ('{"id": ' + "1" * 5000 + ', "text": "big id"}', True),
    ('{"id": "big", "text": ' + "9" * 4400 + "}", True), ('{"id": ' + "7" * 4000 + ', "text": "long id"}', True),
    (deep(DEEP), True), ('{"id": ' + deep(DEEP) + ', "text": "x"}', True), ('{"id": "d", "text": ' + deep(DEEP) + "}", True),
    ('{"id": "e", "text": "x", "extra": ' + deep(50) + "}", True), ('{"id": ' + deep(40) + ', "text": "x"}', True),
    ('{"id": "f", "text": "x", "extra": ' + deep(800) + "}", False), ('{"id": ' + deep(800) + ', "text": "x"}', False),
    ('{"id": 1e999, "text": "inf id"}', True), ("NaN", True), ("-Infinity", True), ('"\\u2028"', True),
    ('{"text": "a", "text": "b", "id": "dupkeys"}', True), ('{"id": "dk", "text": 5, "text": "ok"}', True),
    ('{"id": "\\ud800", "text": "\\udc00\\ud800"}', True), ('{"id": "s\\udfff", "text": "lone \\ud83d surrogate"}', True),
    ('{"id": "raw", "text": "a\u2028b\u2029c\x85d"}', True), ('{"id": "t", "text": "x", "title": "\\u2028"}', True),
    ('{"id":"empty","text":""}', True), ('{"id":"ws","text":" \\n\\t "}', True),
    ('{"id": "ctl", "text": "\\u0000\\u001b[2J"}', True),
    ("{", True), ("[1,", True), ('{"id": "x" "text": "y"}', True), ("\ufeff{}", True), ("{}", True), ("[]", True),
]


@st.composite
def json_line(draw):
    kind = draw(st.sampled_from(["record"] * 4 + ["value", "raw"]))
    if kind == "raw":
        return draw(st.sampled_from(RAW_LINES))
    if kind == "value":
        obj = draw(json_value)
    else:
        obj = draw(st.dictionaries(weird_text, json_value, max_size=2))
        if draw(st.integers(0, 4)):
            obj["id"] = draw(id_pool)
        if draw(st.integers(0, 5)):
            texts = weird_text | st.sampled_from(["Soldiers shot the man.", "x" * 300])
            obj["text"] = draw(texts if draw(st.integers(0, 4)) else json_value)
        if draw(st.booleans()):
            obj["title"] = draw(weird_text | json_value)
    ensure_ascii = draw(st.booleans())
    line = json.dumps(obj, ensure_ascii=ensure_ascii)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: written as an escape
        line = json.dumps(obj, ensure_ascii=True)
    pad = draw(st.sampled_from(["", " ", "\t", "\r"]))
    return pad + line + pad, True


def expected(lines: list[tuple[str, bool]]) -> list[tuple[str | None, bool | None]]:
    """(id, has error) for each line by the record rules (None: either is right); ids are str(index) or str(id)."""
    seen: set[str] = set()
    out: list[tuple[str | None, bool | None]] = []
    sure = True
    for index, (line, certain) in enumerate(lines, start=1):
        try:
            obj = json.loads(line) if certain else None
        except (ValueError, RecursionError):
            obj = None
        if not certain:
            out.append((None, None))
            sure = False  # the ids seen from here on are not known exactly
            continue
        if not isinstance(obj, dict):
            out.append((str(index), True))
            continue
        raw = obj.get("id")
        rid = str(index) if raw is None or (isinstance(raw, str) and raw == "") else str(raw)
        bad = rid in seen or not isinstance(obj.get("text"), str)
        seen.add(rid)
        out.append((rid, bad if sure or bad else None))
    return out


def read_output(data: bytes, fmt: str) -> list[dict]:
    if fmt == "jsonl":
        return jsonl_out(data)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
        return [{"id": r["id"], "error": r["error"] or None, "scores": {k[6:]: float(v) for k, v in r.items()
                 if k.startswith("score_") and v} or None, "labels": [x for x in r["labels"].split(",") if x],
                 "warnings": r["warnings"], "model_version": r["model_version"]} for r in rows]
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()


def as_written(rid: str, fmt: str) -> str:
    """An id as the output format holds it: JSON exactly; CSV with formula starts quoted; surrogates as escapes."""
    if fmt == "jsonl":
        return rid
    if fmt == "csv" and rid.startswith(("=", "+", "-", "@", "\t", "\r")):
        rid = "'" + rid
    return rid.encode("utf-8", "backslashreplace").decode("utf-8")


@FUZZ
@given(
    st.lists(st.tuples(json_line(), st.sampled_from(["\n", "\r\n", "\n\n", "\n \t\n"])), min_size=1, max_size=12),
    st.sampled_from(["jsonl", "jsonl", "csv", "parquet"]),
)
def test_label_random_json_values(cli, lines, out_fmt):
    data = "".join(line + sep for (line, _), sep in lines).encode("utf-8")
    result, out = run_label(cli, data, ".jsonl", out_fmt=out_fmt)
    assert result.exit_code == 0, result.stderr
    records = read_output(out, out_fmt)
    wanted = expected([line for line, _ in lines])
    assert len(records) == len(wanted), f"{len(wanted)} lines gave {len(records)} records"
    for i, (rec, (rid, bad)) in enumerate(zip(records, wanted)):
        check_record(rec, None if bad is None else not bad)
        if rid is not None:
            assert rec["id"] == as_written(rid, out_fmt), f"record {i + 1}: {rec['id']!r} != {rid!r} ({lines[i][0][0][:80]!r})"


# -- 3. random HTML -----------------------------------------------------------------------------------------------
SCRIPT_ENDS = ["</script>", "</SCRIPT>", "</script >", "</script\n>", "</script foo>", "</script/>", '</script\tx="1">']
STYLE_ENDS = ["</style>", "</STYLE>", "</style >", "</style foo>", "</style/>"]
TITLE_ENDS = ["</title>", "</TITLE>", "</title >", "</title x>"]
ELEMENTS = ["p", "div", "span", "b", "i", "em", "strong", "a", "h1", "h2", "h3", "blockquote", "article", "main",
            "section", "figure", "figcaption", "pre", "small", "label", "q", "cite", "u", "mark", "code", "address",
            "font", "center", "dl", "dd", "dt", "abbr", "sub", "sup"]
ATTRS = ['class="c"', "id=x1", 'title="a > b"', "data-x='<p>'", "lang=en", 'href="/x?a=1&b=2"', "dir=ltr", "aria-label='l'"]
JUNK = ["&amp;", "&lt;", "&gt;", "&nbsp;", "&copy;", "&#8212;", "&bogus;", "&", "a < b", "<3", "&#0;", "&#xD800;",
        "\u2028", "—", ",", ".", "&lt;p&gt;", "&quot;", "&#x1F600;"]


class Soup:
    """A random HTML page; ``visible`` holds the words put where a reader sees them."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.n = 0
        self.visible: list[str] = []

    def word(self, visible: bool, refs: bool = True) -> str:
        self.n += 1
        word = f"{'vis' if visible else 'hid'}{self.n}x"
        if not visible:
            return word
        self.visible.append(word)
        if refs and self.r.random() < 0.15:  # a letter as a character reference
            i = self.r.randrange(len(word))
            ref = self.r.choice([f"&#{ord(word[i])};", f"&#x{ord(word[i]):x};", f"&#X{ord(word[i]):X};"])
            word = word[:i] + ref + word[i + 1:]
        return word

    def sep(self, glue: bool = True) -> str:
        return self.r.choice([" ", "\n", "\t", "  ", "\r\n"] + ([""] if glue else []))

    def text(self, visible: bool, refs: bool = True, junk: bool = True) -> str:
        tokens = [self.word(visible, refs)]
        for _ in range(self.r.randint(0, 3)):
            if junk and self.r.random() < 0.3:
                tokens.append(self.r.choice(JUNK))
            tokens.append(self.word(visible, refs))
        return "".join(t + self.sep(glue=False) for t in tokens[:-1]) + tokens[-1]

    def tag(self, name: str) -> str:
        name = name.upper() if self.r.random() < 0.1 else name
        attrs = self.r.sample(ATTRS, self.r.choice([0, 0, 1, 2]))
        return f"<{' '.join([name, *attrs])}>"

    def flow(self, depth: int, visible: bool) -> str:
        nodes = [self.node(depth, visible) for _ in range(self.r.randint(1, 4 if depth < 3 else 2))]
        return "".join(n + self.sep() for n in nodes[:-1]) + nodes[-1]

    def node(self, depth: int, visible: bool) -> str:
        r = self.r
        kinds = ["text"] * 4 + ["void", "comment", "cdata", "script", "style", "title", "template"]
        if depth < 3:
            kinds += ["element"] * 4 + ["noscript", "svg", "table", "list"]
        kind = r.choice(kinds)
        if kind == "text":
            return self.text(visible)
        if kind == "element":
            name = r.choice(ELEMENTS)
            end = f"</{name}>" if r.random() < 0.8 else ""  # sometimes left open
            return self.tag(name) + self.flow(depth + 1, visible) + end
        if kind == "void":
            return r.choice(["<br>", "<br/>", "<BR />", "<hr>", "<wbr>", f"<img src=x.jpg alt='{self.word(False)}'>",
                             "<input type=hidden value=v>", "<meta name=x content=y>"])
        if kind == "comment":
            h = self.word(False)
            return r.choice([f"<!-- {h} -->", f"<!--{h}-->", "<!---->", f"<!-- a -- {h} -->", f"<!-- {h} --!>",
                             f"<!--[if IE]><p>{h}</p><![endif]-->", "<!-->", "<!--->", f"<?php {h} ?>", f"</ {h}>",
                             "<!DOCTYPE html>"])
        if kind == "cdata":  # in HTML content a bogus comment, up to the first ">"
            return f"<![CDATA[ {self.word(False)} ]]>"
        if kind == "script":
            body = f"if (a < b) {{ x = '<p>{self.word(False)}</p>'; }} {self.word(False)}"
            return self.tag("script") + r.choice(["", body, self.word(False)]) + r.choice(SCRIPT_ENDS)
        if kind == "style":
            return self.tag("style") + f"p {{ content: '<b>{self.word(False)}' }}" + r.choice(STYLE_ENDS)
        if kind == "title":
            return "<title>" + self.text(False, junk=False) + r.choice(TITLE_ENDS)
        if kind == "template":
            return "<template>" + self.flow(depth + 1, False) + "</template>"
        if kind == "noscript":
            return "<noscript>" + self.flow(depth + 1, visible) + "</noscript>"
        if kind == "svg":
            closed = r.random() < 0.8
            # an unclosed <svg> ends where an HTML tag such as <p> breaks out of it
            return "<svg viewBox='0 0 100 20'>" + self.svg(depth + 1, visible) + ("</svg>" if closed else "<p>")
        if kind == "table":
            cells = "".join(f"<td>{self.flow(depth + 1, visible)}" + r.choice(["</td>", ""]) for _ in range(r.randint(1, 3)))
            return "<table><tr>" + cells + r.choice(["</tr></table>", "</table>", ""])
        # list
        items = "".join(f"<li>{self.flow(depth + 1, visible)}" + r.choice(["</li>", ""]) for _ in range(r.randint(1, 3)))
        return r.choice(["<ul>", "<ol>"]) + items + r.choice(["</ul>", "</ol>", ""])

    def svg(self, depth: int, visible: bool) -> str:
        r = self.r
        parts = []
        for _ in range(r.randint(1, 3)):
            kind = r.choice(["text", "text", "shape", "title", "g", "foreign"] if depth < 5 else ["text", "shape"])
            if kind == "text":  # svg draws only what is inside <text>
                inner = r.choice([
                    lambda: self.text(visible),
                    lambda: f"<tspan>{self.text(visible)}</tspan>",
                    lambda: f"<![CDATA[{self.text(visible, refs=False, junk=False)} & <b>]]>",  # text in svg
                ])()
                parts.append(f"<text x='0' y='10'>{inner}</text>")
            elif kind == "shape":
                parts.append(r.choice(["<circle r='3'/>", "<rect width='1' height='1'></rect>", "<path d='M0 0'/>"]))
            elif kind == "title":
                name = r.choice(["title", "desc"])
                parts.append(f"<{name}>{self.word(False)}</{name}>")
            elif kind == "g":
                parts.append("<g>" + self.svg(depth + 1, visible) + "</g>")
            else:
                parts.append(f"<foreignObject width='90' height='20'><p>{self.text(visible)}</p></foreignObject>")
        return "".join(parts)

    def page(self) -> str:
        r = self.r
        out = [r.choice(["", "<!doctype html>", "<!DOCTYPE html PUBLIC '-//W3C//DTD HTML 4.01//EN'>"])]
        if r.random() < 0.7:
            out.append("<html lang=en>")
        head_open = False
        if r.random() < 0.7:
            out.append("<head>")
            for _ in range(r.randint(0, 3)):
                out.append(r.choice([
                    "<meta charset='utf-8'>", "<link rel=stylesheet href=s.css>",
                    "<title>" + self.text(False, junk=False) + "</title>",
                    "<style>body { color: red }" + r.choice(STYLE_ENDS),
                    "<script>var t = '<p>" + self.word(False) + "</p>';" + r.choice(SCRIPT_ENDS),
                ]))
            head_open = r.random() < 0.5  # "<head>" without "</head>"
            if not head_open:
                out.append("</head>")
        if r.random() < 0.5:
            out.append("<body>")
        elif head_open:  # what implies <body> after an open <head>: text or a flow element
            start = r.choice(["text", "<p>", "<div>"])
            out.append(self.text(True) + " " if start == "text" else start)
        out.append(self.flow(0, True))
        out.append(r.choice(["", "</body></html>", "</html>"]))
        out.append(r.choice([""] * 5 + [  # hidden to the end of the page
            "<script>" + self.word(False), "<style>" + self.word(False), "<title>" + self.word(False),
            f"<template><p>{self.word(False)}", f"<!-- {self.word(False)}",
        ]))
        return "".join(out)


def missing_words(soup: Soup, texts: list[str]) -> list[str]:
    return [w for w in soup.visible if not any(w in t for t in texts)]


HTML_SEEDS = range(200)


def test_parse_document_html_keeps_every_visible_word():
    failures = []
    for seed in HTML_SEEDS:
        soup = Soup(seed)
        html = soup.page()
        try:
            entries = parse_document(html, kind="html")
        except Exception:
            raise AssertionError(f"parse_document(kind='html') raised on {html!r}:\n{traceback.format_exc()}")
        if soup.visible:
            missing = missing_words(soup, [e.text for e in entries])
            if missing:
                failures.append((len(html), seed, missing, html))
    failures.sort()
    assert not failures, f"{len(failures)}/{len(HTML_SEEDS)} pages lost visible words; the shortest:\n" + "\n".join(
        f"seed {seed}: missing {missing} in {html!r}" for _, seed, missing, html in failures[:3])


def test_screen_html_keeps_every_visible_word(cli):
    failures = []
    for seed in HTML_SEEDS[::8]:
        soup = Soup(seed)
        html = soup.page()
        src = cli.path(".html")
        src.write_text(html, encoding="utf-8")
        result = cli("screen", src, "--kind", "html", "--format", "jsonl")
        assert result.exit_code in (0, 2), result.stderr  # 2: no entries (an empty page)
        texts = [e["text"] for e in jsonl_out(result.stdout_bytes)] if result.exit_code == 0 else []
        if missing := missing_words(soup, texts):
            failures.append((len(html), seed, missing, html))
    failures.sort()
    assert not failures, f"{len(failures)} pages lost visible words; the shortest:\n" + "\n".join(
        f"seed {seed}: missing {missing} in {html!r}" for _, seed, missing, html in failures[:3])


# -- the smallest cases the fuzzing found, kept as plain tests ---------------------------------------------------
@pytest.mark.parametrize("line", ["\u2028", "\x85", "\xa0", "\x0c"], ids=["U+2028", "NEL", "NBSP", "FF"])
def test_label_jsonl_line_of_unicode_space_is_a_record(cli, line):
    """Only JSON whitespace makes a line blank: a line holding another character is a record (with an error)."""
    data = f'{{"id": "a", "text": "x"}}\n{line}\n{{"id": "b", "text": "y"}}\n'.encode("utf-8")
    result, out = run_label(cli, data, ".jsonl")
    assert result.exit_code == 0, result.stderr
    records = jsonl_out(out)
    ids = [r["id"] for r in records]
    assert ids == ["a", "2", "b"], f"{ids}: the line {line!r} was dropped, not reported"
    check_record(records[1], labelled=False)


SHOWN = "Man stabbed at the quay."
HTML_CASES = {
    "script-end-tag-self-closing": "<html><head><title>Quay</title><script src=a.js></script/></head>"
                                   f"<body><p>{SHOWN}</p></body></html>",
    "script-end-tag-with-attribute": f"<body>Roads reopen. <script>x()</script foo>{SHOWN}</body>",
    "style-end-tag-with-attribute": f"<body>Roads reopen. <style>p{{}}</style x>{SHOWN}</body>",
    "comment-closed-by-bang": f"<body>Roads reopen. <!-- x --!>{SHOWN} <!-- y --></body>",
    "empty-comment-abrupt": f"<body>Roads reopen. <!-->{SHOWN} <!-- y --></body>",
    "empty-comment-abrupt-dash": f"<body>Roads reopen. <!--->{SHOWN} <!-- y --></body>",
    "svg-text-cdata": f"<p>Roads reopen.</p><svg><text><![CDATA[{SHOWN}]]></text></svg>",
    "text-before-article": f"<html><body>{SHOWN}<article><p>Police closed the road for hours after the incident, "
                           "officials said on Tuesday evening.</p><p>Ferries are running again and the harbour "
                           "reopened to visitors this morning.</p></article></body></html>",
}


@pytest.mark.parametrize("page", HTML_CASES.values(), ids=HTML_CASES.keys())
def test_html_text_a_browser_shows_is_screened(page):
    entries = parse_document(page, kind="html")
    assert any(SHOWN in e.text for e in entries), [e.text for e in entries]
