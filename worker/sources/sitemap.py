"""Sitemaps -> FeedEntry: Google News sitemaps (news:title, news:publication_date),
plain sitemaps (lastmod), gzip-compressed ones, and sitemap indexes (children URLs).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from lxml import etree

from worker.fetch import FetchResponse
from worker.models import FeedEntry, Source

from ..parser.dates import parse_date
from .common import (
    SourceError,
    absolute_url,
    clean_text,
    language_tag,
    reject_entity_declarations,
    strip_control_bytes,
)
from .reader import Fetch, Read, Reader

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit, uncompressed
MAX_URLS = 50_000
# A sitemap index can name thousands of sitemaps; news lives in the few newest.
MAX_CHILD_SITEMAPS = 5


def _parser() -> etree.XMLParser:
    # No DTDs, no entities, no network, no huge-tree mode; recover gives a
    # best-effort tree for truncated files.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=True, remove_comments=True, remove_pis=True)


def _gunzip(body: bytes) -> bytes:
    """A .xml.gz sitemap served as a file (not Content-Encoding), capped like a body."""
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decoder.decompress(body, MAX_SITEMAP_BYTES + 1)
    except zlib.error as exc:
        raise SourceError("corrupt gzip sitemap") from exc
    if len(data) > MAX_SITEMAP_BYTES:
        raise SourceError(f"sitemap over {MAX_SITEMAP_BYTES} bytes uncompressed")
    return data


def _root(response: FetchResponse) -> etree._Element | None:
    body = response.body
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body)
    if not body.strip():
        raise SourceError("empty sitemap body")
    reject_entity_declarations(body)
    body = strip_control_bytes(body)
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return None  # maybe a text sitemap
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SourceError(f"malformed sitemap: {clean_text(str(exc), 200)}") from exc
    if root is None:
        raise SourceError("malformed sitemap: no root element")
    return root


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in element:
        if _local(child.tag) == name:
            yield child


def _text(element: etree._Element, *path: str) -> str:
    node: etree._Element | None = element
    for name in path:
        node = next(_children(node, name), None) if node is not None else None
    return (node.text or "").strip() if node is not None else ""


def sitemap_children(response: FetchResponse) -> list[str]:
    """Nested sitemap URLs of a sitemap index (empty for a plain sitemap)."""
    if response.not_modified:
        return []
    root = _root(response)
    if root is None or _local(root.tag) != "sitemapindex":
        return []
    urls = []
    for item in _children(root, "sitemap"):
        url = absolute_url(_text(item, "loc"), response.url)
        if url and url not in urls:
            urls.append(url)
        if len(urls) >= MAX_URLS:
            break
    return urls


def read_sitemap(response: FetchResponse) -> list[FeedEntry]:
    """Entries of a urlset sitemap; [] for an index (use ``sitemap_children``)."""
    if response.not_modified:
        return []
    root = _root(response)
    if root is None:
        return _text_sitemap(response)
    kind = _local(root.tag)
    if kind == "sitemapindex":
        return []
    if kind != "urlset":
        raise SourceError(f"not a sitemap (root element {clean_text(kind, 50)!r})")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for item in _children(root, "url"):
        url = absolute_url(_text(item, "loc"), response.url)
        if url is None or url in seen:
            continue
        seen.add(url)
        news = next(_children(item, "news"), None)
        title = published = language = None
        tags: tuple[str, ...] = ()
        if news is not None:
            title = clean_text(_text(news, "title"), 1000)
            published = parse_date(_text(news, "publication_date"))
            language = language_tag(_text(news, "publication", "language"))
            keywords = _text(news, "keywords")
            tags = tuple(dict.fromkeys(k for k in (clean_text(w, 200) for w in keywords.split(","))
                                       if k))
        image = None
        picture = next(_children(item, "image"), None)
        if picture is not None:
            image = absolute_url(_text(picture, "loc"), response.url)
        entries.append(FeedEntry(
            url=url,
            title=title or "",
            published=published,
            updated=parse_date(_text(item, "lastmod")),
            tags=tags,
            image=image,
            language=language,
        ))
        if len(entries) >= MAX_URLS:
            break
    return entries


def _text_sitemap(response: FetchResponse) -> list[FeedEntry]:
    """The protocol's plain-text form: one URL per line."""
    text = response.body.decode("utf-8", "replace")
    entries: dict[str, FeedEntry] = {}
    for line in text.splitlines()[: MAX_URLS * 2]:
        line = line.strip()
        if not line.startswith(("http://", "https://")):
            continue
        url = absolute_url(line, response.url)
        if url and url not in entries:
            entries[url] = FeedEntry(url=url)
    if not entries:
        raise SourceError("not a sitemap (neither XML nor a list of URLs)")
    return list(entries.values())[:MAX_URLS]


def _read(response: FetchResponse, source: Source, fetch: Fetch | None) -> Read:
    children = sitemap_children(response) if fetch is not None else []
    if fetch is None or not children:
        return Read(read_sitemap(response))
    entries: list[FeedEntry] = []
    for child in _newest(children):
        entries.extend(read_sitemap(fetch(child)))
    return Read(entries)


def _newest(urls: list[str]) -> list[str]:
    # Indexes list children oldest-first or newest-first; names usually carry a date
    # or a counter, so the lexically greatest are the newest either way.
    return sorted(urls, reverse=True)[:MAX_CHILD_SITEMAPS]


READER = Reader(
    accept="application/xml, text/xml;q=0.9, application/x-gzip;q=0.8, text/plain;q=0.5, */*;q=0.3",
    read=_read,
    # An index can stay byte for byte the same while its children change.
    same_body_same_entries=False,
)
