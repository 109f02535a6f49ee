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

import functools
import logging
import re
from collections import Counter
from html.parser import HTMLParser
from types import ModuleType

from .results import Entry

logger = logging.getLogger("moderation")

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


_HTML_HINT = re.compile(
    r"<\s*(?:!doctype|html|head|title|body|main|article|section|header|footer|nav|p|div|br|h[1-6]|span|a|ul|li"
    r"|table|figure|blockquote|svg|noscript|script|style|meta)\b",
    re.IGNORECASE,
)
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "main", "article",
    "section", "header", "footer", "nav", "aside", "blockquote", "pre", "address", "details", "summary", "tr",
    "table", "caption", "figure", "figcaption", "hr", "noscript", "svg", "text",
}
_CELL_TAGS = {"td", "th"}
# Never drawn on the page. Everything else is (svg labels, <noscript>, a body after an unclosed <head>).
_HIDDEN_TAGS = {"script", "style", "template", "title"}
# What trafilatura discards but a reader sees inside an article: renamed to plain blocks before extraction,
# as is an <aside> inside the <article> (a pull quote).
_READER_BLOCKS = {"svg": "div", "text": "p", "figure": "div", "figcaption": "p", "noscript": "div"}
# Main content shorter than this share of the visible text means the page is no article (an index, a
# list of short items) or extraction failed: then all visible text is scored.
_MIN_MAIN_SHARE = 0.25
# trafilatura's last resort when it finds no main content: the whole page as one <p>, one text run a line.
_PAGE_DUMP = re.compile(r"<p>[^<]*\n[^<]*</p>")


_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
              "track", "wbr"}
# Site chrome: what is dropped when it also lies outside the page's main content.
_CHROME_TAGS = {"nav", "header", "footer", "aside", "form", "menu", "dialog"}
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog"}
_CHROME_NAMES = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|footer|header|masthead|cookies?|consent|gdpr|banner|subscribe|"
    r"subscription|newsletter|signup|share|sharing|social|related|promo|promoted|advert|ads?|sponsor(?:ed)?|"
    r"donate|donation|paywall|breadcrumbs?|sidebar|widget|popup|modal|outbrain|taboola)(?:$|[\s_-])",
    re.IGNORECASE,
)
# Python's parser misses end tags and comment ends that browsers accept ("</script/>", "</style x>",
# "--!>", "<!-->"): rewritten first, so that the text after them is not taken for hidden.
_LOOSE_END_TAG = re.compile(r"</(script|style|title|template|textarea)\b[^>]*>", re.IGNORECASE)
_ABRUPT_COMMENT = re.compile(r"<!---?>")


def _is_chrome(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    if tag in _CHROME_TAGS:
        return True
    values = dict(attrs)
    if (values.get("role") or "").lower() in _CHROME_ROLES:
        return True
    return bool(_CHROME_NAMES.search(f"{values.get('class') or ''} {values.get('id') or ''}"))


class _TextExtractor(HTMLParser):
    """Every text a reader sees, as blocks marked when they sit in site chrome, with the first
    ``<h1>`` and ``<title>``. Only script, style, template and title content is hidden, each up to
    its own end tag; CDATA is text inside svg and math, as in a browser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, bool]] = []  # (text or "\n", in chrome)
        self.hidden: list[str] = []  # open hidden elements, innermost last
        self.open: list[tuple[str, bool]] = []  # open visible elements and whether they are chrome
        self.titles: list[str] = []
        self.h1s: list[str] = []
        self._h1_start: int | None = None

    def feed(self, data: str) -> None:
        super().feed(_ABRUPT_COMMENT.sub("<!---->", _LOOSE_END_TAG.sub(r"</\1>", data.replace("--!>", "-->"))))

    @property
    def _chrome(self) -> bool:
        return bool(self.open) and self.open[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden.append(tag)
            if tag == "title":
                self.titles.append("")
            return
        if self.hidden:
            return
        if tag not in _VOID_TAGS:
            self.open.append((tag, self._chrome or _is_chrome(tag, attrs)))
        if tag == "h1" and self._h1_start is None:
            self._h1_start = len(self.parts)
        self._break(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.hidden:
            while self.hidden.pop() != tag:  # also closes hidden elements left open inside it
                pass
            return
        if self.hidden:
            return
        if tag == "h1" and self._h1_start is not None:
            self.h1s.append(_squash("".join(text for text, _ in self.parts[self._h1_start:])))
            self._h1_start = None
        if tag in _BLOCK_TAGS:
            self.parts.append(("\n", self._chrome))
        if any(name == tag for name, _ in self.open):
            while self.open.pop()[0] != tag:  # closes what was left open inside it
                pass

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append((data.replace("\n", " "), self._chrome))
        elif self.hidden[-1] == "title":
            self.titles[-1] += data

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA[") and not self.hidden and any(name in ("svg", "math") for name, _ in self.open):
            self.handle_data(data[len("CDATA["):])

    def _break(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(("\n", self._chrome))
        elif tag in _CELL_TAGS:
            self.parts.append((" ", self._chrome))

    def marked_blocks(self) -> list[tuple[str, bool]]:
        """The visible text as blocks (paragraphs), each with whether all of it sits in site chrome."""
        blocks: list[tuple[list[str], bool]] = [([], True)]
        line, chrome = "", True
        for text, in_chrome in [*self.parts, ("\n", True)]:
            if text != "\n":
                line += text
                chrome = chrome and (in_chrome or not text.strip())
                continue
            if squashed := _squash(line):
                lines, block_chrome = blocks[-1]
                blocks[-1] = (lines + [squashed], block_chrome and chrome)
            elif blocks[-1][0]:
                blocks.append(([], True))
            line, chrome = "", True
        return [("\n".join(lines), chrome) for lines, chrome in blocks if lines]

    def blocks(self) -> list[str]:
        """The visible text as blocks (paragraphs), lines inside a block kept apart."""
        return [text for text, _ in self.marked_blocks()]

    def headline(self) -> str:
        """The page's first ``<h1>``, else its ``<title>``, else ""."""
        return next((h for h in self.h1s + [_squash(t) for t in self.titles] if h), "")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _bare(text: str) -> str:
    return "".join(text.split())


def _parse(html: str) -> _TextExtractor:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser


@functools.cache
def _trafilatura() -> ModuleType | None:
    """trafilatura when installed (imported on first use), else None: then all visible text is scored."""
    try:
        import trafilatura
    except ImportError:
        return None
    return trafilatura


def _main_blocks(html: str) -> list[str]:
    """The blocks of the page's main content by trafilatura (offline), or [] when it finds none."""
    trafilatura = _trafilatura()
    if trafilatura is None:
        return []
    try:
        tree = trafilatura.load_html(html)
        if tree is None:
            return []
        for element in [*tree.iter("template", *_READER_BLOCKS), *tree.xpath("//article//aside")]:
            if element.tag == "template":
                element.drop_tree()  # inert: never shown
            else:
                element.tag = _READER_BLOCKS.get(element.tag, "div")
        main = trafilatura.extract(
            tree, include_comments=False, include_tables=True, favor_recall=True, output_format="html"
        )
    except Exception:  # a failing extractor must not stop the gate: all visible text is scored instead
        logger.warning("main-content extraction failed; scoring all visible text", exc_info=True)
        return []
    return _parse(main).blocks() if main and not _PAGE_DUMP.search(main) else []


def _main_span(visible: list[tuple[str, bool]], main: list[str]) -> list[str]:
    """The page's text without the site chrome around its main content.

    The visible blocks from the first to the last one of the main content are kept, so that what
    the extractor drops inside it (a live-blog post's heading, a pull quote) is still scored; main
    blocks that match no visible block stay where the extractor put them; outside that span only
    blocks in site chrome (navigation, header, footer, cookie or newsletter boxes ...) are dropped:
    loose text a reader sees is scored. Blocks match when their text occurs once on the page."""
    texts = [text for text, _ in visible]
    count = Counter(map(_bare, texts))
    where = {_bare(block): i for i, block in enumerate(texts) if count[_bare(block)] == 1}
    hits = [j for j, block in enumerate(main) if _bare(block) in where]
    if not hits:
        in_main = _bare("".join(main))
        return main + [text for text, chrome in visible if not chrome and _bare(text) not in in_main]
    found = [where[_bare(main[j])] for j in hits]
    low, high = min(found), max(found)
    before = [text for text, chrome in visible[:low] if not chrome]
    after = [text for text, chrome in visible[high + 1:] if not chrome]
    return before + main[:hits[0]] + texts[low:high + 1] + main[hits[-1] + 1:] + after


def html_to_text(html: str) -> str:
    """What a reader reads on an HTML page: the headline on the first line, then paragraphs separated by
    blank lines. An article loses the site chrome around its main content (navigation, banners,
    footers); any other page keeps all its visible text."""
    page = _parse(html)
    marked = page.marked_blocks()
    blocks = [text for text, _ in marked]
    main = _main_blocks(html) if blocks else []
    if len(_bare("".join(main))) >= _MIN_MAIN_SHARE * len(_bare("".join(blocks))):
        blocks = _main_span(marked, main)
    if headline := page.headline():
        blocks = [headline] + [b for b in blocks if _squash(b) != headline]
    return "\n\n".join(blocks)


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is an HTML page or fragment rather than plain text."""
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
