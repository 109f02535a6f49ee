"""Turning what publishers export into entries: live blogs, single articles, HTML.

A live-blog export is an optional lead article without a byline, then posts that
each start with a byline line such as ``- Jane Doe``; a post's first line is its
headline. Only the trailer line publishers' exports append (``Source: Read Full
Article``, ``Read the full story``) is dropped, and only at the end of an entry: everything a
reader sees is scored. A line is a byline only when it looks like a name and is not
part of a run of list items; publishers with another byline form pass their own
pattern (a regex with a ``name`` group).
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
# Exactly what publishers' exports append, dropped only at the end; anything else is content.
_READ_FULL = re.compile(r"^[ \t]*(?:source:[ \t]*)?read (?:the )?full (?:article|story)[ \t]*$", re.IGNORECASE)
_BULLET = re.compile(r"^[ \t]*[-–—•*][ \t]+\S")
# Capitalised words that do not occur in names: a "- Shot Him In The Head" line or a list
# item such as "- Quay Street" is content, not a byline.
_NOT_NAME = {
    "a", "an", "and", "as", "at", "by", "for", "from", "he", "her", "him", "his", "i", "in", "is", "it", "its",
    "me", "my", "no", "not", "of", "off", "on", "or", "our", "she", "so", "that", "the", "their", "them", "they",
    "this", "to", "up", "us", "was", "we", "were", "who", "with", "you", "your", "has", "had", "have", "will",
    "street", "st", "road", "rd", "avenue", "ave", "lane", "drive", "square", "park", "way", "close", "bridge",
    "station", "hospital", "court", "hall", "centre", "center", "school", "church", "river", "hill", "place",
    "terrace", "gardens", "crescent", "boulevard", "highway", "motorway", "airport", "market", "quay", "wharf",
    "update", "updated", "breaking", "live", "latest", "news", "police", "video", "photos", "watch", "read",
}
_PARTICLES = {"de", "da", "del", "della", "di", "du", "van", "von", "der", "den", "la", "le", "bin", "binti", "al", "el", "ní", "ó", "ua", "y"}


def byline_name(line: str, pattern: re.Pattern[str] | None = None) -> str | None:
    """The author's name if ``line`` is a byline line (by ``pattern`` when given), else None."""
    match = (pattern or BYLINE).match(line)
    if not match:
        return None
    name = match.group("name").strip()
    if pattern is not None:
        return name or None
    words = name.split()
    if not (words[0][0].isupper() and words[-1][0].isupper()):
        return None
    if any(not (w[0].isupper() or w.lower() in _PARTICLES) for w in words):
        return None
    if any(w.lower().strip(".'’") in _NOT_NAME for w in words):
        return None
    return name


def _bylines(lines: list[str], pattern: re.Pattern[str] | None) -> list[str | None]:
    """The byline name of each line, or None; a dash line next to another bullet line is a list item."""
    names = [byline_name(line, pattern) for line in lines]
    if pattern is None:
        for i, name in enumerate(names):
            if name is not None and any(
                0 <= j < len(lines) and _BULLET.match(lines[j]) for j in (i - 1, i + 1)
            ):
                names[i] = None
    return names


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
    lines = list(lines)
    while lines and (not lines[-1].strip() or _READ_FULL.match(lines[-1])):
        lines.pop()  # trailers only at the end
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    return Entry(id=id_, text="\n".join(lines), headline=lines[0].strip(), author=author, source=source)


def _pattern(byline: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    if byline is None or isinstance(byline, re.Pattern):
        return byline
    compiled = re.compile(byline)
    if "name" not in compiled.groupindex:
        raise ValueError("a byline pattern needs a (?P<name>...) group")
    return compiled


def parse_live_blog(text: str, source: str | None = None, byline: str | re.Pattern[str] | None = None) -> list[Entry]:
    """Entries of a live-blog export: the lead (if any), then one entry per byline."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    lines = _clean_lines(text)
    for line, name in zip(lines, _bylines(lines, _pattern(byline))):
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


def parse_document(
    text: str, kind: str = "auto", source: str | None = None, byline: str | re.Pattern[str] | None = None
) -> list[Entry]:
    """Split a document into entries. ``kind``: auto, liveblog, article or html; ``byline``: the
    publisher's own byline regex (with a ``name`` group) instead of ``- Firstname Lastname``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    pattern = _pattern(byline)
    if kind == "html" or (kind == "auto" and looks_like_html(text)):
        text = html_to_text(text)
        kind = "auto"
    if kind == "liveblog" or (kind == "auto" and any(_bylines(_clean_lines(text), pattern))):
        return parse_live_blog(text, source, pattern)
    return parse_article(text, source)
