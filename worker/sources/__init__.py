"""Source readers: turn a fetched body into FeedEntry items, by ``source.kind``.

Every reader raises ``SourceError`` (a ValueError) for a body it cannot read,
and nothing else: hostile or broken input is one logged error for that source.
"""

from __future__ import annotations

from worker.fetch import FetchResponse
from worker.models import FeedEntry, Source

from .common import SourceError
from .feed import read_feed
from .page import discover_feed_url, read_page
from .sitemap import read_sitemap, sitemap_children

KINDS = ("feed", "page", "sitemap")

# What to send as Accept when fetching a source of each kind.
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "sitemap": "application/xml, text/xml;q=0.9, application/x-gzip;q=0.8, text/plain;q=0.5, "
    "*/*;q=0.3",
}


def read_entries(source: Source, response: FetchResponse) -> list[FeedEntry]:
    """The entries a source lists in ``response`` ([] for a 304)."""
    if response.not_modified:
        return []
    try:
        if source.kind == "feed":
            return read_feed(response)[0]
        if source.kind == "page":
            return read_page(response, source.selector)
        if source.kind == "sitemap":
            return read_sitemap(response)
    except SourceError:
        raise
    except (Exception, RecursionError) as exc:  # a parser bug must not escape as anything else
        raise SourceError(f"cannot read {source.kind}: {type(exc).__name__}: {exc}"[:300]) from exc
    raise SourceError(f"unknown source kind {source.kind!r} (expected one of {', '.join(KINDS)})")


__all__ = [
    "ACCEPT",
    "SourceError",
    "discover_feed_url",
    "read_entries",
    "read_feed",
    "read_page",
    "read_sitemap",
    "sitemap_children",
]
