"""Sitemaps: Google News, plain, gzip, text, index."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import fetch_response

from worker.models import Source
from worker.sources import SourceError, read_entries, sitemap_children

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
SITEMAP_SOURCE = Source(id="kompas-news-sitemap", url="https://www.kompas.com/sitemap-news.xml",
                        kind="sitemap")
NEWS_SITEMAP = (FEEDS / "news-sitemap.xml").read_bytes()


def test_google_news_sitemap() -> None:
    entries = read_entries(SITEMAP_SOURCE, fetch_response(NEWS_SITEMAP, SITEMAP_SOURCE.url))
    assert len(entries) == 2  # the repeated <loc> is deduplicated
    first, second = entries
    assert first.url.endswith("/pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat")
    assert first.title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert first.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert first.language == "id"
    assert first.tags == ("Armenia", "Rusia", "Nagorno-Karabakh")
    assert first.image == "https://asset.kompas.com/crops/armenia.jpg"
    assert second.published == datetime(2020, 11, 20, tzinfo=UTC)
    assert second.updated == datetime(2020, 11, 20, 14, 5, tzinfo=UTC)


def test_plain_sitemap_with_lastmod_gzipped() -> None:
    body = gzip.compress(b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://example.org/2020/11/21/a-story</loc><lastmod>2020-11-21</lastmod></url>
<url><loc> /relative/2020/11/22/b </loc></url>
<url><loc>mailto:x@example.org</loc></url>
</urlset>""")
    entries = read_entries(SITEMAP_SOURCE, fetch_response(body, "https://example.org/sitemap.xml.gz"))
    assert [(e.url, e.updated) for e in entries] == [
        ("https://example.org/2020/11/21/a-story", datetime(2020, 11, 21, tzinfo=UTC)),
        ("https://example.org/relative/2020/11/22/b", None),
    ]


def test_text_sitemap() -> None:
    body = b"https://example.org/a\n\nnot a url\nhttps://example.org/b\nhttps://example.org/a\n"
    entries = read_entries(SITEMAP_SOURCE, fetch_response(body, SITEMAP_SOURCE.url))
    assert [e.url for e in entries] == ["https://example.org/a", "https://example.org/b"]


def test_sitemap_index() -> None:
    index = fetch_response((FEEDS / "sitemap-index.xml").read_bytes(), SITEMAP_SOURCE.url)
    assert sitemap_children(index) == ["https://www.kompas.com/sitemap-news-1.xml",
                                       "https://www.kompas.com/sitemap-news-2.xml"]
    assert read_entries(SITEMAP_SOURCE, index) == []


def test_children_of_a_plain_sitemap_is_empty() -> None:
    assert sitemap_children(fetch_response(NEWS_SITEMAP, SITEMAP_SOURCE.url)) == []


def test_truncated_sitemap_is_best_effort() -> None:
    body = NEWS_SITEMAP[:1200]
    entries = read_entries(SITEMAP_SOURCE, fetch_response(body, SITEMAP_SOURCE.url))
    assert entries and entries[0].url.startswith("https://www.kompas.com/global/read/")


@pytest.mark.parametrize("body", [b"", b"<html><body>no</body></html>", b"\x1f\x8bnot gzip",
                                  b"just words"])
def test_not_a_sitemap(body: bytes) -> None:
    with pytest.raises(SourceError):
        read_entries(SITEMAP_SOURCE, fetch_response(body, SITEMAP_SOURCE.url))


@pytest.mark.timeout(30)
def test_gzip_bomb_sitemap_cut_off() -> None:
    bomb = (Path(__file__).parent / "fixtures" / "hostile" / "bomb.gz").read_bytes()
    # 64 MiB of NULs: over the 50 MiB sitemap limit.
    with pytest.raises(SourceError, match="over"):
        read_entries(SITEMAP_SOURCE, fetch_response(bomb, SITEMAP_SOURCE.url))
