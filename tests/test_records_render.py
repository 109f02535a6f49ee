import csv
import dataclasses
import io
import json

import pytest

from moderation import Entry, Label, Prediction, ScreenedEntry, WarningPolicy
from moderation.records import InputError, Record, format_of, output_record, read_records, serialise, write_atomic
from moderation.render import render


def _pred(*labels):
    scores = {l: (0.9 if l in labels else 0.1) for l in Label}
    return Prediction(scores=scores, labels=labels, warnings=WarningPolicy().warnings_for(labels), model_version="v-test")


def test_prediction_is_frozen_and_serialises():
    pred = _pred(Label.SOLICITATION)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pred.labels = ()
    with pytest.raises(TypeError):
        pred.scores[Label.SOLICITATION] = 0.0
    d = pred.to_dict()
    assert d["labels"] == ["solicitation"] and d["model_version"] == "v-test"
    assert set(d["scores"]) == {"graphic_violence", "unverified_rumour", "solicitation"}
    assert Label.SOLICITATION in pred and pred.flagged


def test_format_of():
    assert format_of("a.jsonl") == "jsonl" and format_of("a.CSV") == "csv" and format_of("x.parquet") == "parquet"
    assert format_of("-") == "jsonl"
    with pytest.raises(InputError):
        format_of("a.txt")


def test_read_jsonl_keeps_every_record(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": "a", "text": "one"}\n'
        "\n"
        "{broken\n"
        '["not", "an", "object"]\n'
        '{"text": "no id"}\n'
        '{"id": "a", "text": "duplicate"}\n'
        '{"id": "n", "text": null}\n'
        '{"id": "m", "text": 42, "title": "T"}\n'
    )
    recs = list(read_records(str(path)))
    assert len(recs) == 7
    assert recs[0].error is None and recs[0].text == "one"
    assert "invalid JSON" in recs[1].error and "in.jsonl:3" in recs[1].error
    assert "expected a JSON object" in recs[2].error
    assert recs[3].id == "4" and recs[3].error is None
    assert "duplicate id 'a'" in recs[4].error
    assert "got null" in recs[5].error and "got int" in recs[6].error


def test_read_csv_and_missing_text_column(tmp_path):
    good = tmp_path / "in.csv"
    good.write_text('id,title,text\n1,Head,"Body, with comma"\n2,,"Line one\nline two"\n')
    recs = list(read_records(str(good)))
    assert [r.id for r in recs] == ["1", "2"]
    assert recs[0].model_text == "Head\nBody, with comma" and recs[1].model_text == "Line one\nline two"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,body\n1,x\n")
    with pytest.raises(InputError, match="'text' column"):
        list(read_records(str(bad)))


def test_parquet_round_trip(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["x", "y"], "text": ["a", "b"]}), path)
    assert [r.id for r in read_records(str(path))] == ["x", "y"]
    out = [output_record(Record("x", "a"), _pred(Label.GRAPHIC_VIOLENCE)), output_record(Record("y", None), error="bad")]
    (tmp_path / "out.parquet").write_bytes(serialise(out, "parquet"))
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert rows[0]["labels"] == ["graphic_violence"] and rows[0]["scores"]["graphic_violence"] == pytest.approx(0.9)
    assert rows[1]["error"] == "bad" and rows[1]["scores"] is None


def test_csv_output_is_flat():
    data = serialise([output_record(Record("x", "a"), _pred(Label.SOLICITATION, Label.UNVERIFIED_RUMOUR))], "csv")
    (row,) = csv.DictReader(io.StringIO(data.decode()))
    assert row["labels"] == "unverified_rumour,solicitation" and float(row["score_solicitation"]) == pytest.approx(0.9)


def test_directory_and_binary_inputs(tmp_path):
    with pytest.raises(InputError, match="directory"):
        list(read_records(str(tmp_path / ".."), "jsonl"))
    binary = tmp_path / "x.jsonl"
    binary.write_bytes(b"\x00\x01\x02binary\x00")
    with pytest.raises(InputError, match="binary"):
        list(read_records(str(binary)))


def test_write_atomic_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "out.jsonl"
    write_atomic(str(target), b"x\n")
    write_atomic(str(target), b"y\n")
    assert target.read_bytes() == b"y\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.jsonl"]


ITEMS = [
    ScreenedEntry(Entry("1", "Headline one\nBody <b>one</b>.", "Headline one", "Jane Doe"), _pred(Label.GRAPHIC_VIOLENCE)),
    ScreenedEntry(Entry("2", "Clean post\nNothing here.", "Clean post", None), _pred()),
]


def test_render_text_puts_banner_before_flagged_entry():
    out = render(ITEMS, WarningPolicy(), "text")
    banner = "!! Content warning: " + Label.GRAPHIC_VIOLENCE.default_warning
    assert out.index("[1 #") < out.index(banner) < out.index("    Headline one") < out.index("[2 #")
    assert out.count("!! Content warning") == 1


def test_render_markdown_and_after_placement():
    md = render(ITEMS, WarningPolicy(), "markdown")
    assert "> **Content warning:** " + Label.GRAPHIC_VIOLENCE.default_warning in md
    assert md.index("> **Content warning") < md.index(r"Body \<b\>one\</b\>")  # entry HTML is text
    after = render(ITEMS, WarningPolicy(placement="after"), "markdown")
    assert after.index(r"Body \<b\>one\</b\>") < after.index("> **Content warning")


def test_render_html_escapes_and_banners():
    html = render(ITEMS, WarningPolicy(), "html")
    assert '<aside class="cw" role="note" data-labels="graphic_violence">' in html
    assert "Body &lt;b&gt;one&lt;/b&gt;." in html
    assert html.index("<aside") < html.index("<h2>Headline one</h2>")
    assert html.count("<aside") == 1


def test_render_jsonl_fields():
    rows = [json.loads(l) for l in render(ITEMS, WarningPolicy(), "jsonl").splitlines()]
    assert rows[0]["id"] == "1" and rows[0]["author"] == "Jane Doe" and rows[0]["labels"] == ["graphic_violence"]
    assert rows[0]["warnings"] == [Label.GRAPHIC_VIOLENCE.default_warning] and rows[1]["warnings"] == []
    assert rows[0]["model_version"] == "v-test" and rows[0]["text"].startswith("Headline one")


def test_render_text_names_entries_by_headline_and_stable_key_and_ends_with_a_summary():
    from moderation.documents import parse_live_blog

    scores = {l: 0.1 for l in Label} | {Label.GRAPHIC_VIOLENCE: 0.93}
    flagged = Prediction(scores=scores, labels=(Label.GRAPHIC_VIOLENCE,), warnings=("w",), model_version="v",
                         thresholds={l: 0.5 for l in Label} | {Label.GRAPHIC_VIOLENCE: 0.9})
    clean = Prediction(scores={l: 0.1 for l in Label}, labels=(), warnings=(), model_version="v")
    blog = "- Jane Doe\nFirst post\nBody one.\n- Ben Cole\nSecond post\nBody two.\n"
    first, second = parse_live_blog(blog)
    out = render([ScreenedEntry(first, flagged), ScreenedEntry(second, clean)], WarningPolicy(), "text")
    lines = out.splitlines()
    assert lines[0].startswith(f'[1 #{first.key}] "First post" by Jane Doe labels: graphic_violence 0.93 (threshold 0.90)')
    assert lines[-1] == "1 of 2 entries flagged: graphic_violence 1, unverified_rumour 0, solicitation 0"
    # a post added before them shifts positions but not keys
    later = parse_live_blog("- Ann Lee\nNew post\nNews.\n" + blog)
    assert [e.key for e in later[1:]] == [first.key, second.key] and [e.id for e in later[1:]] == ["2", "3"]


def test_render_html_warning_sits_inside_its_own_entry_box():
    html = render(ITEMS, WarningPolicy(), "html")
    first = html[html.index('<article id="entry-1">'):html.index("</article>")]
    second = html[html.index('<article id="entry-2">'):]
    assert "<aside" in first and first.index("<aside") < first.index("<h2>Headline one</h2>")
    assert "<aside" not in second  # the clean entry has none, and none spills over from the first
    assert "article{border" in html and "1 of 2 entries flagged" in html
