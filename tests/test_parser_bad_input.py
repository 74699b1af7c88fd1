"""Hostile and broken input: an Article or ParseError, in bounded time, nothing else."""

from __future__ import annotations

import os

import pytest

from worker.models import Article
from worker.parser import ParseError, parse_html

URL = "https://example.org/bad"


def parse_or_refuse(data):
    try:
        return parse_html(data, URL)
    except ParseError:
        return None


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
    article = parse_or_refuse(data)
    assert article is None or article.text.startswith("Word after word")


@pytest.mark.timeout(60)
def test_twenty_megabytes_of_tags():
    data = b"<div><span><a href='#'>x</a></span></div>" * (20_000_000 // 40)
    assert isinstance(parse_or_refuse(data), Article | None)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("tag", ["div", "p", "span", "table", "b", "li"])
def test_ten_thousand_levels_of_nesting(tag):
    deep = f"<{tag}>" * 10_000 + "deep text in the middle of the nest, " * 5 + f"</{tag}>" * 10_000
    html = f"<html><body><p>{'A normal paragraph before the nest. ' * 5}</p>{deep}</body></html>"
    assert isinstance(parse_or_refuse(html), Article | None)
    assert isinstance(parse_or_refuse(html.encode()), Article | None)


@pytest.mark.timeout(30)
def test_unclosed_and_malformed_markup():
    html = "<html><body><p>Open <b>bold <i>italic <a href='x'>link " * 2000 + "<table><tr><td>"
    html += "</div></span>" * 1000 + "<p attr='never closed" + "<<<>>>&&&;;;" * 1000
    assert isinstance(parse_or_refuse(html), Article | None)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "data, content_type",
    [
        (b"<html><body><p>caf\xe9 \xff\xfe broken \xc3\x28 utf-8</p></body></html>", "text/html; charset=utf-8"),
        (b"<html><body><p>" + "Łódź, żółć".encode() * 50 + b"</p></body></html>", "text/html; charset=nonsense-42"),
        (b"<meta charset='utf-16'><p>declared utf-16, but ascii</p>", None),
        ("<p>text with lone surrogate \ud800 inside</p>", None),
        (b"<?xml version='1.0' encoding='latin-1'?><html><body><p>xml head</p></body></html>", None),
        (b"<html><head><meta charset=\"x-user-defined\"></head><body><p>\x81\x82</p></body></html>", None),
    ],
)
def test_broken_encodings(data, content_type):
    try:
        article = parse_html(data, URL, content_type=content_type)
    except ParseError:
        return
    assert isinstance(article.text, str)
    assert "\ufffd" * 3 not in article.text


@pytest.mark.timeout(30)
def test_hostile_json_ld_and_attributes():
    ld = "[" * 50_000 + "]" * 50_000
    html = (
        f'<html><head><script type="application/ld+json">{ld}</script>'
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": '
        '{"name": {"nested": true}}, "datePublished": 12345, "headline": ["a", "b"]}</script>'
        f'</head><body class="{"x " * 100_000}"><p>Body text here.</p></body></html>'
    )
    assert isinstance(parse_or_refuse(html), Article | None)
