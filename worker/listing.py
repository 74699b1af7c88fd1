"""From a source to the entries it lists: which URL to ask, how, and what to follow.

What to follow is the reader's business (``worker.sources``): a `feed` URL that turns
out to be an HTML page leads to the feed the page advertises (autodiscovery), and that
feed URL is remembered here for the next polls; a sitemap index leads to its newest
child sitemaps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from .fetch import Fetcher, FetchResponse
from .models import FeedEntry, Source
from .sources import read_source, reader_for
from .store import SourceState


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
    reader = reader_for(source.kind)

    def fetch(url: str) -> FetchResponse:
        return fetcher.get(url, accept=reader.accept)

    url = state.feed_url or source.url
    response = fetcher.get(url, etag=state.etag, last_modified=state.last_modified, accept=reader.accept)
    if response.not_modified:
        return Listing(response, [], state)
    state = replace(state, etag=response.etag, last_modified=response.last_modified)
    followed = reader.follow(response, fetch) if reader.follow else None
    if followed:
        feed_url, response = followed
        state = replace(state, feed_url=feed_url, etag=response.etag,
                        last_modified=response.last_modified)
    if reader.same_body_same_entries:
        # Many servers send no ETag or Last-Modified, or change them on every request:
        # an identical body has nothing new, so it is not parsed again.
        body_hash = hashlib.blake2b(response.body, digest_size=16).hexdigest()
        if body_hash == state.body_hash:
            return Listing(response, [], state, unchanged=True)
        state = replace(state, body_hash=body_hash)
    read = read_source(source, response, fetch)
    return Listing(response, read.entries, state, read.ttl)
