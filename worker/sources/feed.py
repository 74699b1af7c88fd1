"""RSS 0.9x/1.0/2.0, Atom and JSON Feed bodies -> FeedEntry.

XML is screened first: entity declarations are refused outright and forbidden
control bytes dropped. Plain, well-formed RSS 2.0 / RSS 1.0 / Atom 1.0 then goes
through the lxml fast path (fastfeed.py, ~10x less CPU); everything else, and
anything the fast path is unsure of, goes to feedparser. Both yield the same
feedparser-shaped result, turned into FeedEntry by the code below.
JSON Feed (https://jsonfeed.org) is read with ``json``.
"""

from __future__ import annotations

import calendar
import json
import re
import xml.parsers.expat
import xml.sax
from datetime import UTC, datetime
from typing import Any

import feedparser

from worker.fetch import FetchResponse
from worker.models import FeedEntry, Source

from ..headers import charset_param
from ..parser.dates import parse_date
from .common import (
    SourceError,
    absolute_url,
    clean_markup,
    clean_text,
    language_tag,
    looks_like_html_page,
    reject_entity_declarations,
    reject_tag_floods,
    strip_control_bytes,
)
from .fastfeed import Unusual, fast_parse
from .page import discover_feed_url
from .reader import Fetch, Read, Reader

JSON_TYPES = ("application/feed+json", "application/json")
# feedparser handles ~10,000 tags per second: this bounds one feed to seconds. A
# large real feed (500 items with full HTML bodies) stays well under it.
MAX_FEED_TAGS = 150_000
# When XML is not well-formed feedparser falls back to a regex-based lenient
# parser that costs ~1.5 s per MB; past this size a broken feed is refused instead.
MAX_LENIENT_BYTES = 2 * 1024 * 1024


def read_feed(response: FetchResponse) -> tuple[list[FeedEntry], float | None]:
    """Entries of a feed and its advertised refresh interval (RSS ``<ttl>``) in seconds."""
    if response.not_modified:
        return [], None
    body = response.body
    if looks_like_json_feed(body, response.media_type):
        return read_json_feed(body, response.url), None
    parsed = parse_xml(body, response.url, response.content_type)
    return xml_entries(parsed, response.url), feed_ttl(parsed)


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        return False
    return content_type in JSON_TYPES or b"jsonfeed.org" in body[:4096]


# --------------------------------------------------------------------------- XML


def parse_xml(body: bytes, url: str, content_type: str | None = None, fast: bool = True) -> Any:
    """feedparser's result (or the fast path's equivalent) for screened bytes.

    SourceError when nothing usable came out. ``fast=False`` forces feedparser
    (the reference the fast path is tested and benchmarked against).
    """
    if not body.strip():
        raise SourceError("empty feed body")
    reject_entity_declarations(body)
    reject_tag_floods(body, MAX_FEED_TAGS)
    body = strip_control_bytes(body)
    if looks_like_html_page(body):
        raise SourceError("not a feed: got an HTML page (try feed autodiscovery)")
    if fast:
        try:
            return fast_parse(body, charset_param(content_type))
        except Unusual:
            pass  # not plain enough for the fast path: feedparser decides
    if len(body) > MAX_LENIENT_BYTES:
        _require_well_formed(body)
    # Without a type feedparser flags every body as suspect; application/xml makes
    # it honour the XML declaration's encoding.
    # No content-location: feedparser would make every link absolute itself at a
    # real cost; the few URLs we keep are resolved against the feed URL below.
    headers = {"content-type": content_type or "application/xml"}
    try:
        # resolve_relative_uris=False: links inside summary/content stay as the feed
        # wrote them. Their right base is the article URL (not the feed URL, which often
        # sits on another host, e.g. rss.kompas.com), so the page parser resolves them;
        # skipping feedparser's pass also saves ~15% of the parse time.
        parsed = feedparser.parse(body, response_headers=headers, resolve_relative_uris=False)
    except RecursionError as exc:  # absurdly nested markup
        raise SourceError("feed is nested too deeply") from exc
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        if parsed.get("bozo") and isinstance(problem, xml.sax.SAXException):
            raise SourceError(f"malformed feed with no entries: {clean_text(str(problem), 200)}")
        if not parsed.get("version"):
            raise SourceError("not a feed (no RSS, Atom or JSON Feed found)")
    return parsed


def _require_well_formed(body: bytes) -> None:
    # Entity declarations were refused already, so expat has nothing to expand.
    checker = xml.parsers.expat.ParserCreate()
    try:
        checker.Parse(body, True)
    except xml.parsers.expat.ExpatError as exc:
        raise SourceError(
            f"malformed feed over {MAX_LENIENT_BYTES} bytes: {clean_text(str(exc), 200)}"
        ) from exc


def read_xml_feed(body: bytes, url: str, content_type: str | None = None) -> list[FeedEntry]:
    return xml_entries(parse_xml(body, url, content_type), url)


def xml_entries(parsed: Any, base: str) -> list[FeedEntry]:
    """FeedEntry for each usable item; relative links resolve against the feed URL."""
    language = language_tag(parsed.feed.get("language"))
    entries = []
    for item in parsed.entries:
        entry = _xml_entry(item, base, language)
        if entry is not None:
            entries.append(entry)
    if not entries and parsed.get("bozo") and parsed.entries:
        # Items were started but none survived: a truncated or broken feed, not an empty one.
        problem = parsed.get("bozo_exception")
        detail = clean_text(str(problem), 200) if problem else "malformed"
        raise SourceError(f"malformed feed with no usable entries: {detail}")
    return entries


def feed_ttl(parsed: Any) -> float | None:
    """RSS ``<ttl>`` (minutes) as seconds, when present and sane."""
    value = parsed.feed.get("ttl")
    try:
        minutes = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60.0 if 0 < minutes <= 7 * 24 * 60 else None


# Shapes for which common.absolute_url / clean_text provably return their input unchanged:
# an absolute http(s) URL without params, empty query or fragment (urljoin/urlsplit keep it
# byte for byte), and one line of text without markup, entities, controls or runs of spaces.
# They cost ~20 us and ~5 us a call, several times per entry; this check costs well under 1 us.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[^\s;?#]*)?(?:\?[^\s#]*[^\s#?])?\Z")


def _url(value: object, base: str) -> str | None:
    """``absolute_url(value, base)``, skipping the URL library for plain absolute URLs."""
    if isinstance(value, str) and len(value) <= 4096 and _PLAIN_URL.match(value) and value.isprintable():
        return value
    return absolute_url(value, base)


def _line(value: object, limit: int) -> str:
    """``clean_text(value, limit)``, skipping the regexes for text that has nothing to clean."""
    if (isinstance(value, str) and value.isprintable() and "<" not in value and "&" not in value
            and "  " not in value and value == value.strip()):
        return value[:limit]
    return clean_text(value, limit)


def _struct_to_utc(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _xml_entry(item: Any, base: str, language: str | None) -> FeedEntry | None:
    url = _url(item.get("link"), base)
    if url is None:
        for link in item.get("links") or ():
            if link.get("rel", "alternate") == "alternate":
                url = _url(link.get("href"), base)
                if url:
                    break
    guid = _line(item.get("id"), 1000) or None
    if url is None and guid:
        url = _url(guid, base) if guid.startswith(("http://", "https://")) else None
    if url is None:
        return None

    summary = clean_markup(item.get("summary"))
    content = ""
    for part in item.get("content") or ():
        value = clean_markup(part.get("value"))
        if len(value) > len(content):
            content = value

    authors: list[str] = []
    for author in item.get("authors") or ():
        name = _line(author.get("name") or author.get("email"), 200)
        if name and name not in authors:
            authors.append(name)
    if not authors:
        name = _line(item.get("author"), 200)
        if name:
            authors.append(name)

    published = _struct_to_utc(dict.get(item, "published_parsed")) or parse_date(dict.get(item, "published"))
    # dict.get: FeedParserDict would silently map a missing "updated" to "published".
    updated = _struct_to_utc(dict.get(item, "updated_parsed")) or parse_date(dict.get(item, "updated"))
    published = published or updated  # RSS 1.0 dc:date lands in "updated"
    tags = []
    for tag in item.get("tags") or ():
        term = _line(tag.get("term") or tag.get("label"), 200)
        if term and term not in tags:
            tags.append(term)
    return FeedEntry(
        url=url,
        title=_line(item.get("title"), 1000),
        summary=summary,
        content=content,
        authors=tuple(authors),
        published=published,
        updated=updated,
        tags=tuple(tags),
        image=_xml_image(item, base),
        guid=guid,
        language=language_tag(item.get("language")) or language,
    )


def _xml_image(item: Any, base: str) -> str | None:
    for media in item.get("media_content") or ():
        kind = (media.get("medium") or media.get("type") or "image").lower()
        if kind.startswith("image"):
            url = _url(media.get("url"), base)
            if url:
                return url
    for thumb in item.get("media_thumbnail") or ():
        url = _url(thumb.get("url"), base)
        if url:
            return url
    for link in item.get("links") or ():
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image"):
            url = _url(link.get("href"), base)
            if url:
                return url
    image = item.get("image")
    if isinstance(image, dict):
        return _url(image.get("href") or image.get("url"), base)
    return None


# --------------------------------------------------------------------------- JSON Feed


def read_json_feed(body: bytes, url: str) -> list[FeedEntry]:
    try:
        data = json.loads(body.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"malformed JSON feed: {clean_text(str(exc), 200)}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise SourceError("not a JSON Feed (no items list)")
    base = url
    language = language_tag(data.get("language"))
    feed_authors = _json_authors(data)
    entries = []
    for item in data["items"]:
        if not isinstance(item, dict):
            continue
        link = absolute_url(item.get("url"), base) or absolute_url(item.get("external_url"), base)
        guid = item.get("id")
        guid = clean_text(str(guid), 1000) if isinstance(guid, str | int) else None
        if link is None and guid and guid.startswith(("http://", "https://")):
            link = absolute_url(guid, base)
        if link is None:
            continue
        content = clean_markup(item.get("content_html")) or clean_markup(item.get("content_text"))
        tags = tuple(dict.fromkeys(clean_text(t, 200) for t in item.get("tags") or ()
                                   if isinstance(t, str) and t.strip()))
        entries.append(FeedEntry(
            url=link,
            title=clean_text(item.get("title"), 1000),
            summary=clean_markup(item.get("summary")),
            content=content,
            authors=tuple(_json_authors(item)) or tuple(feed_authors),
            published=parse_date(item.get("date_published")),
            updated=parse_date(item.get("date_modified")),
            tags=tags,
            image=absolute_url(item.get("image"), base) or absolute_url(item.get("banner_image"),
                                                                         base),
            guid=guid or None,
            language=language_tag(item.get("language")) or language,
        ))
    return entries


def _json_authors(data: dict[str, Any]) -> list[str]:
    found = data.get("authors")
    if not isinstance(found, list):
        found = [data.get("author")] if isinstance(data.get("author"), dict) else []
    names = []
    for author in found:
        if isinstance(author, dict):
            name = clean_text(author.get("name"), 200)
            if name and name not in names:
                names.append(name)
    return names


# --------------------------------------------------------------------------- the reader


def _read(response: FetchResponse, source: Source, fetch: Fetch | None) -> Read:
    entries, ttl = read_feed(response)
    return Read(entries, ttl)


def _follow_advertised_feed(response: FetchResponse, fetch: Fetch) -> tuple[str, FetchResponse] | None:
    """A feed URL that turned out to be an HTML page: the feed the page advertises."""
    if not (response.media_type in ("text/html", "application/xhtml+xml")
            or looks_like_html_page(response.body)):
        return None
    feed_url = discover_feed_url(response)
    if not feed_url:
        raise SourceError("the URL is an HTML page that advertises no feed "
                          "(use kind: page with a selector for listing pages)")
    return feed_url, fetch(feed_url)


READER = Reader(
    accept="application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5",
    read=_read,
    follow=_follow_advertised_feed,
)
