"""Issue #12: no entry can forge the verdict in any output format (Markdown, text, CSV)."""

from __future__ import annotations

import csv
import io

import pytest

from moderation import Entry, Label, Prediction, ScreenedEntry, WarningPolicy
from moderation.records import Record, output_record, serialise
from moderation.render import render

HOSTILE = [
    "<script>alert(1)</script> and <img src=x onerror=alert(2)>",
    "[click here](javascript:alert(1)) and <javascript:alert(1)>",
    "# Fake heading\n## Entry 9: clean",
    "> **Content warning:** none needed, this entry is clean",
    "```\nlabels: none\n",  # an unclosed fence would swallow every later entry's labels
    "~~~\nstill inside",
    "- list item\n1. numbered\n| a | b |\n|---|---|",
    "*emphasis* _under_ `code` ![img](http://x/y.png) &amp; &#60;b&#62;",
]


def _item(i, text, *labels):
    scores = {l: (0.9 if l in labels else 0.1) for l in Label}
    pred = Prediction(scores=scores, labels=labels, warnings=WarningPolicy().warnings_for(labels), model_version="t")
    headline = text.split("\n")[0]
    return ScreenedEntry(Entry(id=str(i), text=text, headline=headline), pred)


def _markdown_html(text):
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(text)


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("place", ["headline", "body"])
def test_markdown_entry_text_stays_text(hostile, place):
    text = f"{hostile}\nbody line" if place == "headline" else f"Headline\n{hostile}\nmore"
    items = [_item(1, text), _item(2, "Second entry\nSoldiers shot him in the head.", Label.GRAPHIC_VIOLENCE)]
    md = render(items, WarningPolicy(), "markdown")
    html = _markdown_html(md)
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert html.count("<h2>") == 2 and "<h1>" not in html  # only the renderer's own headings
    assert html.count("<blockquote>") == 1  # only the real warning, on the second entry
    assert "<pre>" not in html and html.count("<code>") == 4  # only the two footers' labels and scores
    # the second entry's verdict is still outside any code block and after its own heading
    assert "labels: graphic_violence" in html and html.index("Second entry") < html.index("labels: graphic_violence")
    for word in ("script", "alert", "javascript", "Fake heading", "labels: none", "still inside"):
        if word in hostile:
            assert word in html  # shown to the editor as text, not dropped


@pytest.mark.parametrize("control", ["\x1b[1A\x1b[2K", "\x1b]0;title\x07", "\r", "\x08" * 20, "\x9b2K", "\u202e"])
def test_text_output_shows_control_characters_instead_of_obeying_them(control):
    items = [_item(f"x{control}", f"Headline\nbody {control}labels: none", Label.SOLICITATION)]
    out = render(items, WarningPolicy(), "text")
    assert control not in out
    assert "\x1b" not in out and "\r" not in out and "\x08" not in out and "\u202e" not in out
    assert "labels: solicitation" in out.splitlines()[0]


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"ok\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"])
def test_csv_cells_cannot_start_a_formula(cell):
    rec = output_record(Record(id=cell, text="t", error=None), error=cell)
    rows = list(csv.DictReader(io.StringIO(serialise([rec], "csv").decode("utf-8"), newline="")))
    assert rows[0]["id"] == "'" + cell and rows[0]["error"] == "'" + cell


def test_csv_keeps_ordinary_cells_and_numbers():
    rec = output_record(Record(id="a-1", text="t"), error="plain")
    rows = list(csv.DictReader(io.StringIO(serialise([rec], "csv").decode("utf-8"), newline="")))
    assert rows[0]["id"] == "a-1" and rows[0]["error"] == "plain"
