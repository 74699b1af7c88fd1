"""Hostile and broken bodies: every reader answers with entries or a SourceError, in bounded time."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from helpers import fetch_response, loopback_fetcher
from servers import HTTPServer

from worker.models import Source
from worker.sources import SourceError, read_entries

pytestmark = pytest.mark.filterwarnings("ignore::bs4.XMLParsedAsHTMLWarning")
HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
KINDS = ("feed", "page", "sitemap")


def read(kind: str, body: bytes, content_type: str | None = None):
    source = Source(id="hostile", url="https://hostile.example/feed", kind=kind)
    try:
        return read_entries(source, fetch_response(body, source.url, content_type))
    except SourceError as exc:
        return exc


def generated() -> dict[str, bytes]:
    rng = random.Random(20201121)
    item = (b"<item><title>Armenia</title><link>https://hostile.example/2020/11/21/"
            b"item-%d</link><description>" + b"x" * 200 + b"</description></item>")
    return {
        "deep-json": b'{"version": "https://jsonfeed.org/version/1", "items": ' + b"[" * 200_000,
        "deep-xml": b"<rss version='2.0'><channel>" + b"<div>" * 10_000,
        "tag-flood": b"<rss version='2.0'><channel>" + b"<a/>" * 1_000_000,
        "tag-flood-page": b"<html><body>" + b"<p>" * 1_000_000,
        "one-huge-line-feed": b"<rss version='2.0'><channel><title>t</title>"
        + b"".join(item % i for i in range(2_000)) + b"</channel></rss>",
        "one-huge-line-garbage": b"<" + b"a" * 5_000_000,
        "utf16-feed": "\ufeff<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel>"
        "<item><title>Ереван</title><link>https://hostile.example/a</link></item>"
        "</channel></rss>".encode("utf-16-le"),
        "random-bytes": bytes(rng.getrandbits(8) for _ in range(200_000)),
        "only-nuls": b"\x00" * 100_000,
        "control-chars": bytes(range(32)) * 1000,
        "html-soup": b"<html>" + b"<a href='/2020/11/21/x-y-z-w-v-long-slug'>" * 5_000,
        "unclosed-cdata": b"<rss version='2.0'><channel><item><title><![CDATA[never ends",
        "entity-in-utf16": "<!DOCTYPE r [<!ENTITY a 'b'>]><r/>".encode("utf-16"),
    }


CORPUS = {p.name: p.read_bytes() for p in sorted(HOSTILE.iterdir()) if p.suffix != ".gz"}
CORPUS.update(generated())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_only_entries_or_source_error(name: str, kind: str) -> None:
    result = read(kind, CORPUS[name])
    assert isinstance(result, list | SourceError), result
    if isinstance(result, SourceError):
        assert str(result)


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml",
                                  "external-entity-sitemap.xml", "entity-in-utf16"])
@pytest.mark.parametrize("kind", ["feed", "sitemap"])
def test_entity_declarations_refused(name: str, kind: str) -> None:
    result = read(kind, CORPUS[name])
    assert isinstance(result, SourceError)
    assert "entities" in str(result)


@pytest.mark.parametrize("kind, name", [("feed", "external-dtd.xml"),
                                        ("sitemap", "external-dtd-sitemap.xml")])
def test_external_dtd_never_fetched(kind: str, name: str) -> None:
    # The tripwire fails this test if any parser tried to load the DTD.
    (entry,) = read(kind, CORPUS[name])
    assert entry.url.startswith("https://example.org/2020/11/21/dtd")


def test_truncated_feed_without_entries_is_an_error() -> None:
    assert isinstance(read("feed", CORPUS["truncated-rss.xml"]), SourceError)
    assert isinstance(read("feed", CORPUS["truncated.json"]), SourceError)
    assert isinstance(read("feed", CORPUS["unclosed-cdata"]), SourceError)


def test_truncated_feed_keeps_whole_items() -> None:
    entries = read("feed", CORPUS["truncated-rss-with-items.xml"])
    assert [e.url for e in entries][:1] == ["https://example.org/2020/11/21/first-whole-item"]


def test_nul_bytes_stripped() -> None:
    (entry,) = read("feed", CORPUS["nul-bytes.xml"])
    assert entry.title == "Armenia and Azerbaijan"
    assert entry.url == "https://example.org/2020/11/21/nul-story"
    assert "\x00" not in entry.summary


def test_wrong_charset_best_effort() -> None:
    (entry,) = read("feed", CORPUS["wrong-charset.xml"], "application/rss+xml; charset=utf-8")
    assert "café crème" in entry.title


def test_html_is_not_a_feed() -> None:
    result = read("feed", CORPUS["not-a-feed.html"], "text/html")
    assert isinstance(result, SourceError)
    assert "HTML" in str(result)


def test_deep_json_is_an_error() -> None:
    assert isinstance(read("feed", CORPUS["deep-json"], "application/feed+json"), SourceError)


@pytest.mark.timeout(60)
def test_huge_single_line_feed_reads() -> None:
    entries = read("feed", CORPUS["one-huge-line-feed"])
    assert len(entries) == 2_000


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind, name", [("feed", "tag-flood"), ("page", "tag-flood-page")])
def test_tag_floods_refused_quickly(kind: str, name: str) -> None:
    result = read(kind, CORPUS[name])
    assert isinstance(result, SourceError)
    assert "too much markup" in str(result)


def test_utf16_feed() -> None:
    (entry,) = read("feed", CORPUS["utf16-feed"])
    assert entry.title == "Ереван"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, outcome", [
    ("billion-laughs.xml", "xml declares entities"),
    ("truncated-rss.xml", "malformed feed with no usable entries"),
    ("nul-bytes.xml", ["Armenia and Azerbaijan"]),
    ("wrong-charset.xml", ["Erdogan? No: caf\u00e9 cr\u00e8me - Yerevan"]),
])
def test_hostile_feeds_served_over_http(name: str, outcome: str | list[str]) -> None:
    server = HTTPServer(routes={"/feed": (200, {"Content-Type": "application/rss+xml"},
                                          CORPUS[name])}).start()
    try:
        with loopback_fetcher() as fetcher:
            fetched = fetcher.get(server.url("/feed"))
    finally:
        server.stop()
    source = Source(id="hostile", url=server.url("/feed"), kind="feed")
    if isinstance(outcome, str):  # refused, with this reason
        with pytest.raises(SourceError, match=re.escape(outcome)):
            read_entries(source, fetched)
    else:  # read, with these titles
        assert [entry.title for entry in read_entries(source, fetched)] == outcome


def test_a_parser_bug_surfaces_as_source_error(monkeypatch) -> None:
    import worker.sources.feed as feed_module

    def broken(*args, **kwargs):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "simulated library bug")

    monkeypatch.setattr(feed_module.feedparser, "parse", broken)
    with pytest.raises(SourceError, match="UnicodeDecodeError"):
        read_entries(Source(id="s", url="https://x.example/", kind="feed"),
                     fetch_response(b"<rss version='2.0'><channel/></rss>"))
    result = read("feed", b"<rss version='2.0'><channel/></rss>")
    assert isinstance(result, SourceError)
