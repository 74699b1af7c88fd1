"""From a source to the entries it lists: which URL to ask, how, and what to follow.

A `feed` source whose URL turns out to be an HTML page is followed to the feed the
page advertises (autodiscovery), and that feed URL is remembered for the next polls.
A `sitemap` source that is a sitemap index is followed to its newest child sitemaps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from .fetch import Fetcher, FetchResponse
from .models import FeedEntry, Source
from .sources import ACCEPT, SourceError, discover_feed_url, read_entries, read_feed, sitemap_children
from .sources.common import looks_like_html_page
from .store import SourceState

# A sitemap index can name thousands of sitemaps; news lives in the few newest.
MAX_CHILD_SITEMAPS = 5


@dataclass(frozen=True)
class Listing:
    response: FetchResponse
    entries: list[FeedEntry]
    state: SourceState  # with the new validators (and a discovered feed URL)
    ttl: float | None = None  # the feed's own <ttl>: do not poll again sooner
    unchanged: bool = False  # a 200 with the very body of the last poll: nothing read

    @property
    def server_wait(self) -> float:
        """How long the server asked us to leave it alone (max-age or the feed's ttl)."""
        return max(self.response.max_age or 0.0, self.ttl or 0.0)


def list_entries(fetcher: Fetcher, source: Source, state: SourceState) -> Listing:
    """Fetch a source (conditionally) and read its entries."""
    url = state.feed_url or source.url
    response = fetcher.get(url, etag=state.etag, last_modified=state.last_modified,
                           accept=ACCEPT.get(source.kind))
    if response.not_modified:
        return Listing(response, [], state)
    state = replace(state, etag=response.etag, last_modified=response.last_modified)
    if source.kind == "feed" and _is_html(response):
        feed_url = discover_feed_url(response)
        if not feed_url:
            raise SourceError("the URL is an HTML page that advertises no feed "
                              "(use kind: page with a selector for listing pages)")
        response = fetcher.get(feed_url, accept=ACCEPT["feed"])
        state = replace(state, feed_url=feed_url, etag=response.etag,
                        last_modified=response.last_modified)
    if source.kind != "sitemap":
        # Many servers send no ETag or Last-Modified, or change them on every request:
        # an identical body has nothing new, so it is not parsed again. (Not for sitemap
        # indexes, whose children can change under an unchanged index.)
        body_hash = hashlib.blake2b(response.body, digest_size=16).hexdigest()
        if body_hash == state.body_hash:
            return Listing(response, [], state, unchanged=True)
        state = replace(state, body_hash=body_hash)
    if source.kind == "sitemap":
        children = sitemap_children(response)
        if children:
            entries: list[FeedEntry] = []
            for child in _newest(children):
                entries.extend(read_entries(source, fetcher.get(child, accept=ACCEPT["sitemap"])))
            return Listing(response, entries, state)
    if source.kind == "feed":
        try:
            entries, ttl = read_feed(response)
        except SourceError:
            raise
        except Exception as error:  # a reader bug is this source's error, not the worker's
            raise SourceError(f"cannot read feed: {type(error).__name__}: {error}"[:300]) from error
        return Listing(response, entries, state, ttl)
    return Listing(response, read_entries(source, response), state)


def _is_html(response: FetchResponse) -> bool:
    if response.media_type in ("text/html", "application/xhtml+xml"):
        return True
    return looks_like_html_page(response.body)


def _newest(urls: list[str]) -> list[str]:
    # Indexes list children oldest-first or newest-first; names usually carry a date
    # or a counter, so the lexically greatest are the newest either way.
    return sorted(urls, reverse=True)[:MAX_CHILD_SITEMAPS]
