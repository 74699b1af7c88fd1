"""What a source reader is: one per kind, registered by name in ``worker.sources.READERS``.

A reader module defines ``READER = Reader(...)``. Adding a kind is that module plus
one line in ``READERS``; nothing else branches on ``source.kind``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from worker.fetch import FetchResponse
from worker.models import FeedEntry, Source

# GET another URL of the same source (a sitemap's child, the feed a page advertises),
# with the Accept header of the source's kind.
Fetch = Callable[[str], FetchResponse]


@dataclass(frozen=True)
class Read:
    """What reading a source gives: its entries and its own refresh hint."""

    entries: list[FeedEntry]
    ttl: float | None = None  # seconds the source asks not to be polled sooner (RSS <ttl>)


@dataclass(frozen=True)
class Reader:
    """How to read one kind of source.

    ``read`` may raise anything on a hostile body: ``read_source`` turns every
    error into one ``SourceError``. ``follow`` (optional) names the document the
    fetched one stands for (an HTML page advertising its feed), as (url, response).
    ``same_body_same_entries`` lets the poll skip a body identical to the last one;
    it is False where the body can stay while its entries change (a sitemap index).
    """

    accept: str
    read: Callable[[FetchResponse, Source, Fetch | None], Read]
    follow: Callable[[FetchResponse, Fetch], tuple[str, FetchResponse] | None] | None = None
    same_body_same_entries: bool = True
