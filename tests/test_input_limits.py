"""Issue #12, 'one record in, one record out, whatever the record': each case below broke a
whole run (or a record) before; each now gives exactly one output record or a one-line error."""

from __future__ import annotations

import json

import pytest

from moderation.documents import parse_document
from moderation.records import InputError, Limits, read_records, read_text


def ids_and_errors(path, limits=None):
    return [(r.id, r.error) for r in read_records(str(path), limits=limits)]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r"])
def test_jsonl_records_end_at_newline_only(tmp_path, separator):
    path = tmp_path / "in.jsonl"
    rows = [{"id": "a", "text": f"first{separator}line"}, {"id": "b", "text": "second"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    records = list(read_records(str(path)))
    assert [(r.id, r.error) for r in records] == [("a", None), ("b", None)]
    assert records[0].text == f"first{separator}line"


@pytest.mark.parametrize("line, reason", [
    ('{"id": "x", "text": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested too deeply"),
    ('{"id": "x", "text": "t", "n": ' + "9" * 5000 + "}", "digits"),
])
def test_pathological_json_is_that_records_error(tmp_path, line, reason):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "ok"}\n' + line + '\n{"id": "c", "text": "ok"}\n')
    got = ids_and_errors(path)
    assert [g[0] for g in got] == ["a", "2", "c"]
    assert got[0][1] is None and got[2][1] is None and reason in got[1][1]


def test_huge_csv_field_is_that_rows_error_and_the_run_goes_on(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\na,ok\nb," + "x" * 20_000_000 + "\nc,ok\n")
    got = ids_and_errors(path)
    assert [g[0] for g in got] == ["a", "2", "c"] and "unreadable CSV row" in got[1][1]
    assert got[0][1] is None and got[2][1] is None


def test_long_csv_field_within_limits_is_read(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\na," + "word " * 60_000 + "\n")  # 300,000 characters: over csv's default
    (record,) = read_records(str(path))
    assert record.error is None and len(record.text) == 300_000


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_record_over_the_size_limit_is_its_error(tmp_path, fmt):
    path = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        path.write_text(json.dumps({"id": "big", "text": "y" * 5000}) + "\n" + json.dumps({"id": "s", "text": "ok"}) + "\n")
    else:
        path.write_text("id,text\nbig," + "y" * 5000 + "\ns,ok\n")
    got = ids_and_errors(path, Limits(max_record_chars=1000))
    assert got[0][0] == "big" and "over the record limit of 1,000" in got[0][1] and got[1] == ("s", None)


def test_input_over_the_file_limit_is_refused_before_reading_it_all(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "z" * 10_000}) + "\n")
    with pytest.raises(InputError, match="larger than the input limit of 5,000 bytes"):
        list(read_records(str(path), limits=Limits(max_input_bytes=5000)))


def test_limits_from_environment(monkeypatch):
    monkeypatch.setenv("MODERATION_MAX_RECORD_CHARS", "77")
    assert Limits.from_env().max_record_chars == 77
    monkeypatch.setenv("MODERATION_MAX_RECORD_CHARS", "lots")
    with pytest.raises(InputError, match="whole number"):
        Limits.from_env()


def test_endless_binary_input_is_refused_from_its_first_block():
    with pytest.raises(InputError, match="binary"):
        read_text("/dev/zero")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom(tmp_path, codec):
    blog = "Lead\n" + "".join(f"- Jane Doe\nPost {i}\nBody {i} with café\n" for i in range(6))
    data = blog.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        data = ("\ufeff" + blog).encode(codec)
    path = tmp_path / "blog.txt"
    path.write_bytes(data)
    entries = parse_document(read_text(str(path)))
    assert len(entries) == 7 and entries[1].text == "Post 0\nBody 0 with café"
