"""Hostile and broken input: an Article or ParseError, in bounded time, nothing else."""

from __future__ import annotations

import os

import pytest

from worker.models import Article
from worker.parser import ParseError, parse_html
from worker.parser.document import MAX_INPUT_CHARS

URL = "https://example.org/bad"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("data", [b"", "", "   \n\t", b"\xef\xbb\xbf", "<html></html>", "<!-- -->"])
def test_empty_documents_give_an_empty_article(data):
    article = parse_html(data, URL)
    assert isinstance(article, Article)
    assert article.text == ""
    assert article.url == URL


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "data",
    [
        os.urandom(100_000),
        b"\x89PNG\r\n\x1a\n" + os.urandom(5000),
        b"\x1f\x8b\x08\x00" + os.urandom(5000),
        b"%PDF-1.7\n" + os.urandom(5000),
        b"\x00" * 10_000,
    ],
)
def test_binary_data_is_refused(data):
    with pytest.raises(ParseError):
        parse_html(data, URL)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("value", [None, 42, ["<p>x</p>"]])
def test_not_a_document_type(value):
    with pytest.raises(ParseError):
        parse_html(value, URL)


@pytest.mark.timeout(60)
def test_twenty_megabyte_page():
    paragraph = "<p>" + "Word after word in a very long page that never seems to end. " * 8 + "</p>\n"
    data = ("<html><body><article>" + paragraph * (20_000_000 // len(paragraph) + 1) + "</article>"
            "</body></html>").encode()
    assert len(data) >= 20_000_000
    article = parse_html(data, URL)
    assert article.text.startswith("Word after word")
    assert len(article.text) <= MAX_INPUT_CHARS, "the input is cut, not parsed whole"


@pytest.mark.timeout(60)
def test_twenty_megabytes_of_tags():
    data = b"<div><span><a href='#'>x</a></span></div>" * (20_000_000 // 40)
    article = parse_html(data, URL)
    assert article.text == "", "a page of nothing but links has no article text"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("tag", ["div", "p", "span", "table", "b", "li"])
def test_ten_thousand_levels_of_nesting(tag):
    deep = f"<{tag}>" * 10_000 + "deep text in the middle of the nest, " * 5 + f"</{tag}>" * 10_000
    html = f"<html><body><p>{'A normal paragraph before the nest. ' * 5}</p>{deep}</body></html>"
    for data in (html, html.encode()):
        article = parse_html(data, URL)
        assert article.text.startswith("A normal paragraph before the nest. " * 4)


@pytest.mark.timeout(30)
def test_unclosed_and_malformed_markup():
    html = "<html><body><p>Open <b>bold <i>italic <a href='x'>link " * 2000 + "<table><tr><td>"
    html += "</div></span>" * 1000 + "<p attr='never closed" + "<<<>>>&&&;;;" * 1000
    article = parse_html(html, URL)
    assert article.text.startswith("Open bold italic link Open bold italic link")


# Each body is repeated: a one-line page is too short to count as an article body.
REPEAT = 8


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "data, content_type, readable",
    [
        (b"<html><body><p>" + b"caf\xe9 \xff\xfe broken \xc3\x28 utf-8 " * REPEAT + b"</p></body></html>",
         "text/html; charset=utf-8", "broken"),
        (b"<html><body><p>" + "\u0141\u00f3d\u017a, \u017c\u00f3\u0142\u0107 ".encode() * REPEAT
         + b"</p></body></html>", "text/html; charset=nonsense-42", "\u0141\u00f3d\u017a, \u017c\u00f3\u0142\u0107"),
        # HTML spec: a meta charset of utf-16 on ASCII-compatible bytes means utf-8
        (b"<meta charset='utf-16'><p>" + b"declared utf-16, but ascii " * REPEAT + b"</p>", None,
         "declared utf-16, but ascii"),
        (b"<p>" + "declared utf-16, but caf\u00e9 in utf-8 ".encode() * REPEAT + b"</p>",
         "text/html; charset=utf-16le", "declared utf-16, but caf\u00e9 in utf-8"),
        ("<p>" + "text with lone surrogate \ud800 inside " * REPEAT + "</p>", None, "text with lone surrogate"),
        (b"<?xml version='1.0' encoding='latin-1'?><html><body><p>" + b"xml head caf\xe9 " * REPEAT
         + b"</p></body></html>", None, "xml head caf\u00e9"),
        (b"<html><head><meta charset=\"x-user-defined\"></head><body><p>" + b"bytes \x81\x82 " * REPEAT
         + b"</p></body></html>", None, "bytes"),
    ],
)
def test_broken_encodings_keep_the_readable_text(data, content_type, readable):
    article = parse_html(data, URL, content_type=content_type)
    assert readable in article.text
    assert "\ufffd" * 3 not in article.text
    article.text.encode("utf-8")  # no lone surrogate survives: the text must be storable


@pytest.mark.timeout(30)
def test_hostile_json_ld_and_attributes():
    ld = "[" * 50_000 + "]" * 50_000
    html = (
        f'<html><head><script type="application/ld+json">{ld}</script>'
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": '
        '{"name": {"nested": true}}, "datePublished": 12345, "headline": ["a", "b"]}</script>'
        f'</head><body class="{"x " * 100_000}"><p>Body text here.</p></body></html>'
    )
    article = parse_html(html, URL)
    assert article.text == "Body text here."
    assert article.published is None, "a number is not a date"
