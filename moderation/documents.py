"""Turning what publishers export into entries: live blogs, single articles, HTML.

A live-blog export is an optional lead article without a byline, then posts that
each start with a byline line such as ``- Jane Doe``; a post's first line is its
headline. Trailer lines such as ``Source: Read Full Article`` are not content.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from .results import Entry

KINDS = ("auto", "liveblog", "article", "html")

# "- Jane Doe", "— Mary-Jane O'Neill", "– Seán Mac Giolla Bhríde", "- By John Roe"
BYLINE = re.compile(
    r"^[ \t]*[-–—][ \t]+(?:[Bb]y[ \t]+)?"
    r"(?P<name>[^\W\d_][\w'’.\-]*(?:[ \t]+(?:[^\W\d_][\w'’.\-]*)){0,4})[ \t]*$"
)
TRAILER = re.compile(
    r"^[ \t]*(?:source:[ \t]*)?(?:read (?:the )?full (?:article|story)|source:.*)[ \t]*$",
    re.IGNORECASE,
)
_PARTICLES = {"de", "da", "del", "della", "di", "du", "van", "von", "der", "den", "la", "le", "bin", "binti", "al", "el", "ní", "ó", "ua", "y"}


def byline_name(line: str) -> str | None:
    """The author's name if ``line`` is a byline line, else None."""
    match = BYLINE.match(line)
    if not match:
        return None
    name = match.group("name").strip()
    words = name.split()
    if not (words[0][0].isupper() and words[-1][0].isupper()):
        return None
    if any(not (w[0].isupper() or w.lower() in _PARTICLES) for w in words):
        return None
    return name


_HTML_HINT = re.compile(r"<\s*(?:html|body|p|div|article|section|br|h[1-6]|span|a|ul|li)\b", re.IGNORECASE)
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "article",
    "section", "header", "footer", "blockquote", "tr", "table", "figure", "figcaption", "hr",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "head"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML document, one block per line, entities decoded."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(unescape(line).split()) for line in "".join(parser.parts).split("\n"))
    text, blank = [], False
    for line in lines:
        if line:
            text.append(line)
            blank = False
        elif not blank and text:
            text.append("")
            blank = True
    return "\n".join(text).strip()


def looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT.search(text[:5000]))


def _clean_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [line.rstrip() for line in text.split("\n")]


def _entry(lines: list[str], id_: str, author: str | None, source: str | None) -> Entry | None:
    lines = [line for line in lines if not TRAILER.match(line)]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return None
    return Entry(id=id_, text="\n".join(lines), headline=lines[0].strip(), author=author, source=source)


def parse_live_blog(text: str, source: str | None = None) -> list[Entry]:
    """Entries of a live-blog export: the lead (if any), then one entry per byline."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in _clean_lines(text):
        name = byline_name(line)
        if name is not None:
            blocks.append((name, []))
        else:
            blocks[-1][1].append(line)
    entries = []
    for author, lines in blocks:
        entry = _entry(lines, str(len(entries) + 1), author, source)
        if entry is not None:
            entries.append(entry)
    return entries


def parse_article(text: str, source: str | None = None) -> list[Entry]:
    entry = _entry(_clean_lines(text), "1", None, source)
    return [entry] if entry is not None else []


def parse_document(text: str, kind: str = "auto", source: str | None = None) -> list[Entry]:
    """Split a document into entries. ``kind``: auto, liveblog, article or html."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if kind == "html" or (kind == "auto" and looks_like_html(text)):
        text = html_to_text(text)
        kind = "auto"
    if kind == "liveblog" or (kind == "auto" and any(byline_name(l) for l in _clean_lines(text))):
        return parse_live_blog(text, source)
    return parse_article(text, source)
