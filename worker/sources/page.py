"""HTML listing pages -> FeedEntry (article links), and feed autodiscovery."""

from __future__ import annotations

import re
import warnings
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning
from bs4.element import Tag

from worker.fetch import FetchResponse
from worker.models import FeedEntry, Source

from .common import (
    SourceError,
    absolute_url,
    clean_text,
    reject_tag_floods,
    strip_control_bytes,
)
from .reader import Fetch, Read, Reader

# A listing that is really XML is still read as HTML: links are all we want from it.
# (A process-wide filter: catch_warnings() is not thread-safe.)
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)

FEED_TYPES = {
    "application/rss+xml": 0,
    "application/atom+xml": 1,
    "application/feed+json": 2,
    "application/rdf+xml": 3,
    "application/json": 4,
}
MAX_LINKS = 2000
MAX_PAGE_TAGS = 300_000  # a heavy real listing page has tens of thousands

# Paths of listings, not articles: /tag/x, /category/x, /author/x, /search, /page/2 …
_NOT_ARTICLE = re.compile(
    r"/(tag|tags|topic|topics|category|categories|author|authors|search|page|login|signin|"
    r"register|subscribe|about|contact|privacy|terms|feed|rss|amp/?$)(/|$)",
    re.IGNORECASE,
)
_DATE_IN_PATH = re.compile(r"/(19|20)\d{2}/?(0[1-9]|1[0-2])/?([0-2]\d|3[01])?(/|$)")
_LONG_NUMBER = re.compile(r"\d{5,}")
_SECOND_LEVEL = {"co", "com", "net", "org", "ac", "go", "or", "gov", "edu", "web", "sch", "my"}


def soup_of(response: FetchResponse) -> BeautifulSoup:
    reject_tag_floods(response.body, MAX_PAGE_TAGS)
    body = strip_control_bytes(response.body)
    try:
        return BeautifulSoup(body, "lxml", from_encoding=response.charset)
    except (ValueError, LookupError, RecursionError) as exc:
        raise SourceError(f"unreadable HTML: {clean_text(str(exc), 200)}") from exc


def site_of(host: str) -> str:
    """Registrable-domain guess: news.bbc.co.uk -> bbc.co.uk, www.kompas.com -> kompas.com."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def looks_like_article(url: str) -> bool:
    parts = urlsplit(url)
    path = parts.path
    if not path or path == "/" or _NOT_ARTICLE.search(path):
        return False
    if _DATE_IN_PATH.search(path) or _LONG_NUMBER.search(path):
        return True
    last = path.rstrip("/").rsplit("/", 1)[-1]
    slug = last.rsplit(".", 1)[0] if last.endswith((".html", ".htm", ".php")) else last
    return slug.count("-") >= 3 and len(slug) >= 20


def read_page(response: FetchResponse, selector: str | None = None) -> list[FeedEntry]:
    """Article links of a listing page: by CSS selector, else by URL heuristics."""
    if response.not_modified:
        return []
    soup = soup_of(response)
    base = _base_url(soup, response.url)
    if selector:
        try:
            found = soup.select(selector, limit=MAX_LINKS)
        except Exception as exc:  # soupsieve raises its own SelectorSyntaxError
            detail = clean_text(str(exc), 200)
            raise SourceError(f"bad CSS selector {selector!r}: {detail}") from exc
        anchors = [_anchor_of(element) for element in found]
        candidates = [a for a in anchors if a is not None]
    else:
        candidates = soup.find_all("a", href=True, limit=MAX_LINKS * 5)
    home = site_of(urlsplit(response.url).hostname or "")
    titles: dict[str, str] = {}
    for anchor in candidates:
        url = absolute_url(anchor.get("href"), base)
        if url is None:
            continue
        if not selector:
            host = urlsplit(url).hostname or ""
            if site_of(host) != home or not looks_like_article(url):
                continue
        title = _title_of(anchor)
        if len(title) > len(titles.get(url, "")):
            titles[url] = title
        else:
            titles.setdefault(url, title)
        if len(titles) >= MAX_LINKS:
            break
    return [FeedEntry(url=url, title=title) for url, title in titles.items()]


def _anchor_of(element: Tag) -> Tag | None:
    if element.name == "a" and element.get("href"):
        return element
    found = element.find("a", href=True)
    return found if isinstance(found, Tag) else None


def _title_of(anchor: Tag) -> str:
    text = clean_text(anchor.get_text(" "), 500)
    if not text:
        text = clean_text(anchor.get("title") or anchor.get("aria-label"), 500)
    if not text:
        image = anchor.find("img", alt=True)
        if isinstance(image, Tag):
            text = clean_text(image.get("alt"), 500)
    return text


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        return absolute_url(base.get("href"), url) or url
    return url


def discover_feed_url(response: FetchResponse) -> str | None:
    """The feed an HTML page advertises with <link rel="alternate" type="…rss/atom/json…">."""
    if not response.body:
        return None
    try:
        return _discover(response)
    except Exception:  # noqa: BLE001 - hostile markup (RecursionError too): there is no feed to find
        return None


def _discover(response: FetchResponse) -> str | None:
    soup = soup_of(response)
    base = _base_url(soup, response.url)
    best: tuple[int, str] | None = None
    for link in soup.find_all("link", href=True, limit=500):
        rel: str | list[str] = link.get("rel") or []
        rels = {r.lower() for r in (rel if isinstance(rel, list) else str(rel).split())}
        kind = str(link.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" not in rels or kind not in FEED_TYPES:
            continue
        url = absolute_url(link.get("href"), base)
        if url and (best is None or FEED_TYPES[kind] < best[0]):
            best = (FEED_TYPES[kind], url)
    return best[1] if best else None


def _read(response: FetchResponse, source: Source, fetch: Fetch | None) -> Read:
    return Read(read_page(response, source.selector))


READER = Reader(accept="text/html, application/xhtml+xml;q=0.9, */*;q=0.5", read=_read)
