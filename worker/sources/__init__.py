"""Source readers: turn a fetched body into FeedEntry items, by ``source.kind``.

``read_source`` is the one entry point: it picks the kind's reader from
``READERS`` (the pattern of ``worker.alerts.base.CHANNEL_TYPES``), returns entries
and the source's ttl together, and is the one place where whatever a reader
throws on hostile or broken input becomes a ``SourceError``: one logged error
for that source, never an exception of some other type.
"""

from __future__ import annotations

from importlib import import_module

from worker.fetch import FetchResponse
from worker.models import FeedEntry, Source

from .common import SourceError
from .feed import read_feed
from .page import discover_feed_url, read_page
from .reader import Fetch, Read, Reader
from .sitemap import read_sitemap, sitemap_children

# kind -> the module that defines its READER. A new kind: one module, one line here.
READERS: dict[str, str] = {
    "feed": "worker.sources.feed",
    "page": "worker.sources.page",
    "sitemap": "worker.sources.sitemap",
}
KINDS = tuple(READERS)


def reader_for(kind: str) -> Reader:
    """The reader of a kind; SourceError for a kind nobody registered."""
    try:
        module = READERS[kind]
    except KeyError:
        raise SourceError(f"unknown source kind {kind!r} (expected one of {', '.join(READERS)})") from None
    reader: Reader = import_module(module).READER
    return reader


def read_source(source: Source, response: FetchResponse, fetch: Fetch | None = None) -> Read:
    """The entries ``response`` holds for ``source`` and its ttl (nothing for a 304).

    ``fetch`` lets a reader get the other documents it points to (a sitemap
    index's children); without it only ``response`` itself is read.
    """
    reader = reader_for(source.kind)
    if response.not_modified:
        return Read([])
    try:
        return reader.read(response, source, fetch)
    except SourceError:
        raise
    except (Exception, RecursionError) as exc:  # a parser bug must not escape as anything else
        raise SourceError(f"cannot read {source.kind}: {type(exc).__name__}: {exc}"[:300]) from exc


def read_entries(source: Source, response: FetchResponse) -> list[FeedEntry]:
    """Only the entries of ``read_source`` (for callers that have no use for the ttl)."""
    return read_source(source, response).entries


__all__ = [
    "KINDS",
    "READERS",
    "Fetch",
    "Read",
    "Reader",
    "SourceError",
    "discover_feed_url",
    "read_entries",
    "read_feed",
    "read_page",
    "read_sitemap",
    "read_source",
    "reader_for",
    "sitemap_children",
]
