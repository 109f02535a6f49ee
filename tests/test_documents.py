from moderation.documents import byline_name, html_to_text, parse_document, parse_live_blog

BLOG = """Storm batters the coast: live
Winds of 90mph hit the west overnight.

- Jane Doe
Trees down across the A39
Several roads are closed.

More detail here.
- Seán O'Brien-Walsh
Power cuts
About 20,000 homes are without power.
Source: Read Full Article
"""


def test_lead_without_byline_then_posts():
    entries = parse_live_blog(BLOG)
    assert [e.id for e in entries] == ["1", "2", "3"]
    lead, first, second = entries
    assert lead.author is None and lead.headline == "Storm batters the coast: live"
    assert first.author == "Jane Doe" and first.headline == "Trees down across the A39"
    assert first.text == "Trees down across the A39\nSeveral roads are closed.\n\nMore detail here."
    assert second.author == "Seán O'Brien-Walsh"
    assert "Source" not in second.text and second.text.endswith("without power.")


def test_no_lead_and_blank_lines_between_posts():
    blog = "\n\n- Anna Lee\n\nFirst post\nBody.\n\n\n- Ben Cole\nSecond post\n\n"
    entries = parse_live_blog(blog)
    assert [(e.author, e.headline) for e in entries] == [("Anna Lee", "First post"), ("Ben Cole", "Second post")]


def test_byline_variants():
    assert byline_name("- Jane Doe") == "Jane Doe"
    assert byline_name("— Mary Ann van der Berg") == "Mary Ann van der Berg"
    assert byline_name("– By John Roe") == "John Roe"
    assert byline_name("  - Priya Natarajan  ") == "Priya Natarajan"
    # list items inside a post are not bylines
    assert byline_name("- the army said it would respond") is None
    assert byline_name("- 12 people were injured") is None
    assert byline_name("Jane Doe") is None


def test_crlf_and_trailer_variants():
    blog = "- Jane Doe\r\nHeadline\r\nBody line\r\nRead Full Article\r\nSource: Wire\r\n"
    (entry,) = parse_live_blog(blog)
    assert entry.text == "Headline\nBody line"


def test_single_article_and_empty_document():
    (entry,) = parse_document("Just one article\nwith a body.")
    assert entry.id == "1" and entry.author is None and entry.headline == "Just one article"
    assert parse_document("   \n\n ") == []


def test_html_is_stripped_and_entities_decoded():
    html = (
        "<html><head><style>p{}</style><script>alert(1)</script></head><body>"
        "<h1>Fire at depot &amp; warehouse</h1><p>Crews&nbsp;arrived at <b>3am</b>.</p><p>No one was hurt.</p>"
        "</body></html>"
    )
    text = html_to_text(html)
    assert "alert" not in text and "p{}" not in text
    assert text.splitlines()[0] == "Fire at depot & warehouse"
    (entry,) = parse_document(html)
    assert entry.headline == "Fire at depot & warehouse" and "Crews arrived at 3am." in entry.text


def test_kind_forces_article():
    entries = parse_document("Headline\n- Jane Doe\nPost", kind="article")
    assert len(entries) == 1
