"""HTML pages: everything a reader sees is scored, site chrome is not (invented pages and text only)."""

from __future__ import annotations

import socket
import sys

import pytest

from moderation import documents
from moderation.documents import html_to_text, looks_like_html, parse_document

VIOLENT = "Witnesses said the attacker stabbed the guard repeatedly before fleeing along the quay."
HEADLINE = "Harbour fire: crews battle blaze overnight"
NAV = (
    '<header><a href="/" class="logo">Daily Example</a><nav><ul><li><a href="/">Home</a></li>'
    '<li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li>'
    "</ul></nav></header>"
)
COOKIES = (
    '<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience. '
    "Accept all cookies to continue reading.</p></div>"
)
FOOTER = (
    "<footer><p>Support independent journalism. Donate today to keep our reporters on the ground.</p>"
    "<p>Copyright Daily Example</p></footer>"
)
CHROME = ("Home", "Weather", "Accept all cookies", "Donate today", "Copyright")
PARAGRAPHS = (
    "Firefighters spent the night tackling a large blaze at the old harbour warehouse, the fire service said.",
    "The cause of the blaze was still being investigated and anyone with information was asked to come forward.",
    "Nearby residents were told to keep their windows closed while crews damped down the remaining hot spots.",
)


def article(extra: str = "", h1: str = f"<h1>{HEADLINE}</h1>", before_main: str = "", at_end: bool = False) -> str:
    """A news article page with navigation, a cookie banner and a donation footer around the story;
    ``extra`` goes after the first paragraph, or after the last one."""
    first, *rest = (f"<p>{p}</p>" for p in PARAGRAPHS)
    body = h1 + first + "".join(rest) + extra if at_end else h1 + first + extra + "".join(rest)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Harbour fire | Daily Example</title></head>"
        f"<body>{NAV}{COOKIES}{before_main}<main><article>{body}</article></main>{FOOTER}</body></html>"
    )


def lines(text: str) -> list[str]:
    return text.splitlines()


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Extraction is offline: any connection attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("HTML extraction tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def without_trafilatura(monkeypatch):
    """trafilatura cannot be imported (not installed)."""
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # makes `import trafilatura` raise ImportError
    documents._trafilatura.cache_clear()
    yield
    documents._trafilatura.cache_clear()


@pytest.fixture(params=["extracted", "fallback"])
def extractor(request):
    """Run a test through the main-content extractor and through the all-visible-text fallback."""
    if request.param == "fallback":
        request.getfixturevalue("without_trafilatura")
    return request.param


# 1. Text a reader sees is scored: svg labels, everything after an unclosed <svg>, <noscript>, and the
# body of pages whose <head> is unclosed or missing.
@pytest.mark.parametrize(
    "page",
    [
        f'<html><body><p>A map of the quay.</p><svg viewBox="0 0 400 40"><text x="0" y="20">{VIOLENT}</text>'
        "</svg><p>Police closed the area.</p></body></html>",
        f'<html><body><p>A map of the quay.</p><svg viewBox="0 0 400 40"><circle r="4"/><p>{VIOLENT}</p>'
        "<p>Police closed the area.</p></body></html>",
        f"<html><body><noscript><p>{VIOLENT}</p></noscript><p>Police closed the area.</p></body></html>",
        f"<html><head><title>Quay attack</title><body><p>{VIOLENT}</p></body></html>",
        f"<html><head><title>Quay attack</title><meta charset='utf-8'><p>{VIOLENT}</p></html>",
        f"<!doctype html><title>Quay attack</title><h1>Quay attack</h1><p>{VIOLENT}</p>",
        f"<head><title>Quay attack</title><p>{VIOLENT}</p>",
    ],
    ids=["svg-text", "unclosed-svg", "noscript", "no-head-end", "unclosed-head-no-body", "no-head-no-body",
         "head-only-start"],
)
def test_text_a_reader_sees_is_scored(page, extractor):
    text = html_to_text(page)
    assert VIOLENT in text
    (entry,) = parse_document(page)
    assert VIOLENT in entry.text


def test_script_style_template_and_title_are_not_text():
    page = (
        "<html><head><title>Quay attack</title><style>p { color: red }</style></head><body>"
        "<script>var x = '<p>not shown</p>';</script><template><p>Inert template</p></template>"
        f"<h1>Quay attack</h1><p>{VIOLENT}</p></body></html>"
    )
    text = html_to_text(page)
    assert "color" not in text and "not shown" not in text and "Inert" not in text
    assert lines(text) == ["Quay attack", "", VIOLENT]


@pytest.mark.parametrize("page", [
    f"<!doctype html><title>Quay attack</title><svg><text>{VIOLENT}</text></svg>",
    f"<table><tr><td>Injured</td><td>{VIOLENT}</td></tr></table>",
    f"<blockquote>{VIOLENT}</blockquote>",
])
def test_pages_without_the_common_tags_are_read_as_html(page):
    assert looks_like_html(page)
    (entry,) = parse_document(page)
    assert VIOLENT in entry.text and "<" not in entry.text


def test_plain_text_with_angle_brackets_is_not_html():
    assert not looks_like_html("Shares fell 3% as a < b and c > d, the report said.")


# 2. Site chrome is not scored on article pages; the page's headline comes first.
def test_nav_cookie_banner_and_donation_footer_are_not_scored():
    text = html_to_text(article(f"<p>{VIOLENT}</p>"))
    assert lines(text)[0] == HEADLINE
    assert VIOLENT in text and all(p in text for p in PARAGRAPHS)
    assert not [chrome for chrome in CHROME if chrome in text]
    (entry,) = parse_document(article())
    assert entry.headline == HEADLINE and "Donate" not in entry.text


def test_h1_outside_the_article_is_still_the_headline():
    text = html_to_text(article(h1="", before_main=f"<h1>{HEADLINE}</h1>"))
    assert lines(text)[0] == HEADLINE and lines(text).count(HEADLINE) == 1
    assert "Donate today" not in text


def test_title_is_the_headline_without_h1():
    text = html_to_text(article(h1=""))
    assert lines(text)[0] == "Harbour fire | Daily Example"
    assert lines(text)[2] == PARAGRAPHS[0] and "Donate today" not in text


def test_without_trafilatura_all_visible_text_is_scored(without_trafilatura):
    text = html_to_text(article(f"<p>{VIOLENT}</p>"))  # no crash
    assert lines(text)[0] == HEADLINE  # not the navigation bar
    assert VIOLENT in text and all(chrome in text for chrome in CHROME)


def test_a_failing_extractor_falls_back_to_all_visible_text(monkeypatch):
    trafilatura = pytest.importorskip("trafilatura")

    def broken(*args, **kwargs):
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(trafilatura, "extract", broken)
    text = html_to_text(article(f"<p>{VIOLENT}</p>"))
    assert VIOLENT in text and "Donate today" in text


# 3. Text a reader sees in the main content survives extraction.
@pytest.mark.parametrize(
    "extra",
    [
        f"<p>{VIOLENT}</p>",
        f'<figure><img src="quay.jpg" alt=""><figcaption>{VIOLENT}</figcaption></figure>',
        f"<blockquote><p>{VIOLENT}</p></blockquote>",
        f'<svg viewBox="0 0 400 40" role="img"><text x="0" y="20">{VIOLENT}</text></svg>',
        f'<p>The route drawn by police: <svg viewBox="0 0 400 40"><text x="0" y="20">{VIOLENT}</text></svg></p>',
        f"<noscript><p>{VIOLENT}</p></noscript>",
        f'<aside class="pull-quote"><p>{VIOLENT}</p></aside>',
    ],
    ids=["body", "figcaption", "blockquote", "svg-label", "inline-svg-label", "noscript", "pull-quote"],
)
@pytest.mark.parametrize("at_end", [False, True], ids=["mid-article", "article-end"])
def test_main_content_survives_extraction(extra, at_end):
    text = html_to_text(article(extra, at_end=at_end))
    assert VIOLENT in text
    assert "Donate today" not in text and "Accept all cookies" not in text  # extracted, not the fallback


def test_live_blog_post_headings_between_extracted_posts_are_kept():
    posts = "".join(
        f'<article class="post"><h2>{heading}</h2><p>{text}</p></article>'
        for heading, text in zip(("Crews reach the quay", VIOLENT, "Roads reopen"), PARAGRAPHS)
    )
    page = (
        f"<html><head><title>Live</title></head><body>{NAV}<h1>Harbour fire: live</h1>"
        f'<div class="liveblog">{posts}</div>{FOOTER}</body></html>'
    )
    text = html_to_text(page)
    assert VIOLENT in text and all(p in text for p in PARAGRAPHS)
    assert "Donate today" not in text and "Weather" not in text


def test_a_list_of_short_items_falls_back_to_all_visible_text(monkeypatch):
    items = "".join(f'<li><a href="/brief/{i}">Brief number {i} from the quay</a></li>' for i in range(12))
    page = f"<html><head><title>Briefs</title></head><body>{NAV}<ul>{items}</ul>{FOOTER}</body></html>"
    text = html_to_text(page)
    assert lines(text)[0] == "Briefs" and "Brief number 11 from the quay" in text and "Donate today" in text
    monkeypatch.setattr(documents, "_trafilatura", lambda: None)
    assert text == html_to_text(page)  # the fallback's output


# 4. The public entry point's layout: headline, then paragraphs separated by blank lines.
def test_layout_of_an_extracted_article():
    page = article(f"<p>Crews&nbsp;arrived at <b>3am</b> &amp; stayed\nuntil noon.</p>")
    assert html_to_text(page) == "\n\n".join(
        [HEADLINE, PARAGRAPHS[0], "Crews arrived at 3am & stayed until noon.", *PARAGRAPHS[1:]]
    )


def test_layout_of_the_fallback(without_trafilatura):
    page = "<p>One<br>two</p><ul><li>Three</li><li>Four</li></ul><table><tr><td>Injured</td><td>4</td></tr></table>"
    assert html_to_text(page) == "One\ntwo\n\nThree\n\nFour\n\nInjured 4"
