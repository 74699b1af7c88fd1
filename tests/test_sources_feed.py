"""Feed reader: RSS 2.0 (Kompas-shaped), Atom, JSON Feed, detection, TTL, end to end over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import fetch_response, loopback_fetcher
from servers import HTTPServer

from worker.fetch import FetchResponse
from worker.models import Source
from worker.sources import SourceError, read_entries, read_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
KOMPAS_FEED_URL = "https://rss.kompas.com/api/feed/global"


def fixture(name: str, url: str, content_type: str | None = None) -> FetchResponse:
    return fetch_response((FEEDS / name).read_bytes(), url, content_type)


FEED_SOURCE = Source(id="kompas-global", url=KOMPAS_FEED_URL, kind="feed")


def test_kompas_rss2() -> None:
    entries, ttl = read_feed(fixture("kompas-rss2.xml", KOMPAS_FEED_URL,
                                     "application/rss+xml; charset=UTF-8"))
    assert ttl == 300.0
    assert len(entries) == 2  # the item without any URL is skipped
    first, second = entries
    assert first.url == ("https://www.kompas.com/global/read/2020/11/21/200000270/"
                         "pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat")
    assert first.title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert first.summary.startswith("Perdana Menteri Armenia Nikol Pashinyan")
    assert "<strong>YEREVAN, KOMPAS.com</strong>" in first.content
    assert "Nagorno-Karabakh" in first.content
    # Links inside content stay as written: their base is the article URL, not the feed's.
    assert 'href="/global/read/2020/11/20/presiden-azerbaijan"' in first.content
    assert first.authors == ("Ardi Priyatno Utomo",)
    assert first.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)  # 20:00 +0700
    assert first.tags == ("Global", "Armenia")
    assert first.image == "https://asset.kompas.com/crops/armenia.jpg"
    assert first.guid == "kompas-200000270"
    assert first.language == "id"
    # A relative <link> resolves against the feed URL.
    assert second.url == ("https://rss.kompas.com/global/read/2020/11/20/210500770/"
                          "azerbaijan-kuasai-distrik-agdam")
    assert second.title == "Azerbaijan Kuasai Distrik Agdam & Kelbajar"
    assert second.image == "https://asset.kompas.com/crops/agdam.jpg"
    assert second.published == datetime(2020, 11, 20, 14, 5, tzinfo=UTC)
    assert second.content == ""


def test_read_entries_returns_only_the_list() -> None:
    entries = read_entries(FEED_SOURCE, fixture("kompas-rss2.xml", KOMPAS_FEED_URL))
    assert [e.guid for e in entries] == [
        "kompas-200000270",
        "https://www.kompas.com/global/read/2020/11/20/210500770/azerbaijan-kuasai-distrik-agdam",
    ]


def test_atom() -> None:
    entries, ttl = read_feed(fixture("atom.xml", "https://news.example.org/feeds/atom"))
    assert ttl is None
    (entry,) = entries
    assert entry.url == "https://news.example.org/2020/11/21/ceasefire-holds"
    assert entry.title == "Ceasefire holds in Nagorno-Karabakh"  # type="html" title as text
    assert entry.summary == "Short summary."
    assert entry.content == "<p>Full body of the <b>story</b>.</p>"
    assert entry.authors == ("Ann Reporter", "Bo Writer")
    assert entry.published == datetime(2020, 11, 21, 13, 30, tzinfo=UTC)
    assert entry.updated == datetime(2020, 11, 21, 14, 0, tzinfo=UTC)
    assert entry.tags == ("Armenia", "Azerbaijan")
    assert entry.image == "https://cdn.example.org/map.png"
    assert entry.guid == "tag:news.example.org,2020:ceasefire-holds"
    assert entry.language == "en"


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", None])
def test_json_feed(content_type) -> None:
    entries, ttl = read_feed(fixture("jsonfeed.json", "https://wire.example.net/feed.json",
                                     content_type))
    assert ttl is None
    assert len(entries) == 2
    first, second = entries
    assert first.url == "https://wire.example.net/2020/11/21/pashinyan-shoigu"
    assert first.title == "Pashinyan meets Shoigu in Yerevan"
    assert first.content.startswith("<p>Armenian PM")
    assert first.summary == "Armenia seeks closer military ties."
    assert first.image == "https://wire.example.net/img/yerevan.jpg"
    assert first.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert first.updated == datetime(2020, 11, 21, 21, 0, tzinfo=UTC)
    assert first.authors == ("Wire Staff",)  # feed-level author
    assert first.tags == ("Armenia", "Russia")
    assert first.language == "en"
    assert second.url == "https://wire.example.net/relative/item-2"
    assert second.content == "Plain text body."
    assert second.authors == ("Someone Else",)


def test_rss_1_0_rdf() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://old.example.org/"><title>Old</title><link>https://old.example.org/</link>
    <items><rdf:Seq><rdf:li resource="https://old.example.org/a"/></rdf:Seq></items></channel>
  <item rdf:about="https://old.example.org/a"><title>RDF item</title>
    <link>https://old.example.org/a</link><dc:date>2020-11-21T13:00:00Z</dc:date>
    <dc:creator>Old Hand</dc:creator></item>
</rdf:RDF>"""
    (entry,) = read_feed(fetch_response(body, "https://old.example.org/rss"))[0]
    assert entry.url == "https://old.example.org/a"
    assert entry.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert entry.authors == ("Old Hand",)


def test_rss_091_with_netscape_doctype() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Very old</title><link>https://v.example.org/</link>
<item><title>Item</title><link>https://v.example.org/2001/01/01/item</link></item></channel></rss>"""
    (entry,) = read_feed(fetch_response(body, "https://v.example.org/rss"))[0]
    assert entry.url == "https://v.example.org/2001/01/01/item"


def test_guid_used_when_link_missing() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title><item><title>x</title>
<guid>https://g.example.org/2020/11/21/from-guid</guid></item></channel></rss>"""
    (entry,) = read_feed(fetch_response(body, "https://g.example.org/rss"))[0]
    assert entry.url == "https://g.example.org/2020/11/21/from-guid"


def test_empty_but_valid_feed_is_an_empty_list() -> None:
    body = b"<rss version='2.0'><channel><title>quiet</title></channel></rss>"
    assert read_feed(fetch_response(body, "https://q.example.org/rss")) == ([], None)


def test_not_modified_gives_no_entries() -> None:
    not_modified = fetch_response(b"", KOMPAS_FEED_URL, status=304, not_modified=True, etag='"x"')
    assert read_entries(FEED_SOURCE, not_modified) == []


def test_unknown_kind() -> None:
    with pytest.raises(SourceError, match="unknown source kind"):
        read_entries(Source(id="x", url="https://x.example/", kind="podcast"),
                     fixture("atom.xml", "https://x.example/"))


def test_feed_fetched_and_read_over_http() -> None:
    body = (FEEDS / "kompas-rss2.xml").read_bytes()
    server = HTTPServer(routes={"/api/feed/global": (
        200, {"Content-Type": "application/rss+xml; charset=UTF-8", "ETag": '"k1"'}, body)}).start()
    try:
        with loopback_fetcher() as fetcher:
            fetched = fetcher.get(server.url("/api/feed/global"))
        entries = read_entries(FEED_SOURCE, fetched)
    finally:
        server.stop()
    assert len(entries) == 2
    assert entries[1].url.startswith(server.url("/global/read/2020/11/20/"))
