from __future__ import annotations

from datetime import UTC, datetime

from helpers import attributes

from worker.parser import parse_html
from worker.parser.metadata import clean_title, registrable_domain

BODY = "<p>" + "A sentence of the article body that is long enough to count as prose. " * 4 + "</p>"


def make(head: str, body: str = BODY, lang: str = "en") -> str:
    return f'<html lang="{lang}"><head>{head}</head><body><article>{body}</article></body></html>'


def test_title_suffixes_are_removed():
    assert clean_title("PM Armenia Minta X Halaman all - Kompas.com", "Kompas.com", "kompas.com") == (
        "PM Armenia Minta X"
    )
    assert clean_title("Oil prices fall | Reuters", "Reuters", "reuters.com") == "Oil prices fall"
    assert clean_title("Reuters - Oil prices fall", "", "reuters.com") == "Oil prices fall"
    assert clean_title("Left - right: a headline", "", "example.org") == "Left - right: a headline"


def test_registrable_domain():
    assert registrable_domain("global.kompas.com") == "kompas.com"
    assert registrable_domain("www.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("news.detik.co.id") == "detik.co.id"
    assert registrable_domain("example.org") == "example.org"


def test_json_ld_graph_authors_and_dates():
    head = (
        '<script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "Site"}, '
        '{"@type": "NewsArticle", "headline": "Headline", "author": [{"@type": "Person", '
        '"name": "Jane Roe"}, {"@type": "Person", "name": "John Doe"}], '
        '"datePublished": "2020-11-21T08:00:00-05:00", "dateModified": "2020-11-22T08:00:00Z", '
        '"keywords": ["a", "b"], "articleSection": "World"}]}</script>'
    )
    expected = {
        "title": "Headline", "authors": ("Jane Roe", "John Doe"),
        "published": datetime(2020, 11, 21, 13, 0, tzinfo=UTC),
        "updated": datetime(2020, 11, 22, 8, 0, tzinfo=UTC),
        "tags": ("a", "b"), "section": "World",
    }
    assert attributes(parse_html(make(head), "https://example.org/story"), expected) == expected


def test_meta_tags():
    head = (
        '<meta property="og:title" content="From OG"><meta name="author" content="By Ann Lee">'
        '<meta property="article:published_time" content="2020-11-21T13:00:00Z">'
        '<meta property="og:site_name" content="The Example"><meta name="description" '
        'content="What happened."><meta property="og:image" content="/img.jpg">'
        '<link rel="canonical" href="https://www.example.org/story/">'
    )
    article = parse_html(make(head), "https://example.org/story?utm_source=x")
    assert article.title == "From OG"
    assert article.authors == ("Ann Lee",)
    assert article.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert article.source.name == "The Example"
    assert article.summary == "What happened."
    assert article.image == "https://example.org/img.jpg"
    assert article.canonical_url == "https://www.example.org/story/"  # as the page names itself


def test_canonical_on_another_site_names_the_original():
    # A syndicated copy pointing at the original is the same article for deduplication.
    head = '<link rel="canonical" href="https://original-site.net/story">'
    article = parse_html(make(head), "https://example.org/syndicated-copy")
    assert article.canonical_url == "https://original-site.net/story"
    assert article.source.domain == "example.org"  # where we found it


def test_canonical_that_is_not_a_web_address_is_ignored():
    head = '<link rel="canonical" href="javascript:alert(1)">'
    article = parse_html(make(head), "https://example.org/original")
    assert article.canonical_url == "https://example.org/original"


def test_visible_byline_and_time_element():
    body = '<p class="byline">By Sam Poe</p><time datetime="2020-11-21T13:00:00Z">Nov 21</time>' + BODY
    article = parse_html(make("<title>T</title>", body), "https://example.org/s")
    assert article.authors == ("Sam Poe",)
    assert article.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)


def test_language_from_markup_or_detection():
    assert parse_html(make("", body="<p>Short.</p>", lang="id-ID"), "https://e.org/a").language == "id"
    sentence = (
        "Pemerintah mengatakan bahwa program ini akan dilanjutkan karena sudah berhasil "
        "di banyak daerah dan juga disukai oleh warga. "
    )
    text = "<p>" + sentence * 3 + "</p>"
    assert parse_html(f"<html><body>{text}</body></html>", "https://e.org/b").language == "id"
    # A template default contradicted by the text itself.
    assert parse_html(make("", body=text, lang="en"), "https://e.org/c").language == "id"


def test_publisher_names_are_not_authors():
    head = '<meta name="author" content="Kompas Cyber Media">'
    assert parse_html(make(head), "https://e.org/a").authors == ()
    head = '<meta name="author" content="PT. VIVA MEDIA BARU - VIVA.co.id">'
    assert parse_html(make(head), "https://e.org/a").authors == ()


def test_source_name_from_domain():
    article = parse_html(make(""), "https://global.kompas.com/read/x")
    assert article.source == type(article.source)(id="", name="Kompas.com", domain="kompas.com")
