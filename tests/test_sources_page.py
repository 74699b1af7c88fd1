"""Listing pages (selector and heuristics) and feed autodiscovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import fetch_response

from worker.fetch import FetchResponse
from worker.models import Source
from worker.sources import SourceError, discover_feed_url, read_entries
from worker.sources.page import looks_like_article, site_of

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
LISTING_URL = "https://www.kompas.com/global"
ARMENIA = ("https://www.kompas.com/global/read/2020/11/21/200000270/"
           "pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat")
AGDAM = "https://www.kompas.com/global/read/2020/11/20/210500770/azerbaijan-kuasai-distrik-agdam"
RUSIA = ("https://internasional.kompas.com/read/2020/11/19/101010/"
         "rusia-kirim-pasukan-penjaga-perdamaian")


def response(body: bytes, url: str = LISTING_URL) -> FetchResponse:
    return fetch_response(body, url, "text/html")


def listing() -> FetchResponse:
    return response((FEEDS / "listing.html").read_bytes())


def page_source(selector: str | None = None) -> Source:
    return Source(id="kompas-global-page", url=LISTING_URL, kind="page", selector=selector)


def test_selector_picks_article_links() -> None:
    entries = read_entries(page_source("h3.article__title"), listing())
    assert [(e.url, e.title) for e in entries] == [
        (ARMENIA, "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"),
        (AGDAM, "Azerbaijan Kuasai Distrik Agdam"),  # fragment dropped, whitespace collapsed
        (RUSIA, "Rusia Kirim Pasukan Penjaga Perdamaian"),
    ]


def test_selector_on_anchors_directly() -> None:
    entries = read_entries(page_source("a.article__link"), listing())
    assert [e.url for e in entries] == [ARMENIA, AGDAM, RUSIA]


def test_heuristics_without_selector() -> None:
    entries = read_entries(page_source(), listing())
    urls = [e.url for e in entries]
    assert urls == [ARMENIA, AGDAM, RUSIA,
                    "https://www.kompas.com/global/read/2020/11/18/090000/arsip-lama-karabakh"]
    # The same article linked twice (title and image) is one entry with the best title.
    assert entries[0].title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"


def test_bad_selector_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="bad CSS selector"):
        read_entries(page_source("h3[[["), listing())


def test_selector_matching_nothing_is_empty() -> None:
    assert read_entries(page_source("div.nothing-here"), listing()) == []


@pytest.mark.parametrize("url, expected", [
    ("https://www.kompas.com/global/read/2020/11/21/200000270/pm-armenia", True),
    ("https://example.org/news/armenia-and-azerbaijan-sign-a-ceasefire-deal", True),
    ("https://example.org/world/123456", True),
    ("https://example.org/2020/11/21/short", True),
    ("https://example.org/tag/armenia", False),
    ("https://example.org/category/world-news-from-the-caucasus-region", False),
    ("https://example.org/about", False),
    ("https://example.org/", False),
    ("https://example.org/world", False),
])
def test_looks_like_article(url: str, expected: bool) -> None:
    assert looks_like_article(url) is expected


def test_site_of() -> None:
    assert site_of("internasional.kompas.com") == "kompas.com"
    assert site_of("news.bbc.co.uk") == "bbc.co.uk"
    assert site_of("www.detik.co.id") == "detik.co.id"


def test_discover_feed_prefers_rss() -> None:
    assert discover_feed_url(listing()) == (
        "https://rss.kompas.com/api/feed/global?apikey=bc58c81819dff4b8d5c53540a2fc7ffd83e6314a")


def test_discover_relative_and_json_feed() -> None:
    html = b"""<html><head><base href="https://cdn.example.org/site/">
    <link rel="Alternate stylesheet" type="text/css" href="x.css">
    <link rel="alternate" type="application/feed+json" href="feed.json"></head></html>"""
    assert discover_feed_url(response(html, "https://example.org/")) == (
        "https://cdn.example.org/site/feed.json")


def test_discover_nothing() -> None:
    assert discover_feed_url(response(b"<html><head></head><body>hi</body></html>")) is None
    assert discover_feed_url(response(b"")) is None
    assert discover_feed_url(response(b"\x00\xff\xfe garbage")) is None


def test_page_in_a_legacy_charset() -> None:
    html = ('<html><head><meta charset="windows-1251"></head><body>'
            '<a href="/news/2020/11/21/armeniya-i-azerbaydzhan">Армения и Азербайджан</a>'
            '</body></html>').encode("windows-1251")
    (entry,) = read_entries(page_source(), response(html, "https://ru.example.org/"))
    assert entry.title == "Армения и Азербайджан"
