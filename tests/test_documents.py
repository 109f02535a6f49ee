import pytest

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
    blog = "- Jane Doe\r\nHeadline\r\nBody line\r\nSource: Read Full Article\r\nRead the full story\r\n"
    (entry,) = parse_live_blog(blog)
    assert entry.text == "Headline\nBody line"


@pytest.mark.parametrize("line", [
    "Source: witnesses said the gunman shot him in the head",
    "Source: Wire",  # not the exact export trailer: a reader sees it, so it is scored
    "SOURCE: police say the victim was stabbed",
    "source: read full article, then see the video of the beating",
])
def test_only_the_exact_trailer_is_dropped_and_only_at_the_end(line):
    (entry,) = parse_live_blog(f"- Jane Doe\nHeadline\n{line}\nMore body.\n")
    assert line in entry.text  # in the middle: content
    (entry,) = parse_live_blog(f"- Jane Doe\nHeadline\nBody.\n{line}\n")
    assert entry.text.endswith(line)  # at the end too, unless it is the exact trailer


@pytest.mark.parametrize("line", ["- Shot Him In The Head", "- Quay Street", "- Stabbed On The Bus", "- Update",
                                  "- The Victim Was Shot"])
def test_lines_that_do_not_look_like_names_are_content(line):
    (entry,) = parse_live_blog(f"- Jane Doe\nHeadline\nBody.\n{line}\nMore.\n")
    assert line in entry.text and entry.author == "Jane Doe"


def test_list_items_stay_in_the_post_even_when_they_look_like_names():
    blog = "- Jane Doe\nRoads closed\nThese roads are shut:\n- Anna Lee\n- Ben Cole\n- Quay Street\nMore.\n"
    (entry,) = parse_live_blog(blog)
    assert entry.author == "Jane Doe" and "- Anna Lee\n- Ben Cole" in entry.text


def test_publisher_byline_pattern():
    blog = "Lead\nBy JANE DOE, 10:42\nFirst post\nBody\nBy BEN COLE, 11:03\nSecond post\n"
    entries = parse_document(blog, byline=r"^By (?P<name>[A-Z ]+), \d\d:\d\d$")
    assert [(e.author, e.headline) for e in entries] == [(None, "Lead"), ("JANE DOE", "First post"),
                                                         ("BEN COLE", "Second post")]
    with pytest.raises(ValueError, match="name"):
        parse_document(blog, byline=r"^By .*$")


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
