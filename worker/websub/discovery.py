"""Which WebSub hub a fetched feed advertises, and under which topic URL.

W3C WebSub §4: the `Link` headers of the response come first (rel="hub", rel="self");
without them, the feed's own links: `<atom:link rel="hub">` in RSS, `<link rel="hub">`
in Atom, `hubs` / `feed_url` in JSON Feed. The topic is the rel="self" URL, else the URL
the feed was fetched from.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree
from requests.utils import parse_header_links

from ..fetch import FetchResponse
from ..sources.common import absolute_url
from ..sources.feed import looks_like_json_feed

# The hub and self links sit in the channel/feed head: reading stops at the first item,
# and after this many elements in any case (a hostile head cannot cost more).
MAX_HEAD_ELEMENTS = 500


@dataclass(frozen=True)
class Advertised:
    hub: str
    topic: str


def advertised_hub(response: FetchResponse) -> Advertised | None:
    """The hub and topic a feed response advertises; None when it names no usable hub.
    Never raises: a broken head simply advertises nothing."""
    try:
        hubs, topic = _from_headers(response)
        if not hubs:
            hubs, topic = _from_body(response)
    except (Exception, RecursionError):  # noqa: BLE001 - hostile input: nothing advertised
        return None
    hub = next((url for url in hubs if url), None)
    if hub is None:
        return None
    return Advertised(hub=hub, topic=topic or response.url)


def _http_url(value: object, base: str) -> str | None:
    url = absolute_url(value, base)
    return url if url and url.startswith(("http://", "https://")) else None


def _pick(links: Iterable[tuple[object, object]], base: str) -> tuple[list[str | None], str | None]:
    """The hub URLs and the first self URL among (rel, href) pairs."""
    hubs: list[str | None] = []
    topic = None
    for rel, href in links:
        rels = set(str(rel or "").lower().split())
        if "hub" in rels:
            hubs.append(_http_url(href, base))
        if "self" in rels and topic is None:
            topic = _http_url(href, base)
    return hubs, topic


def _from_headers(response: FetchResponse) -> tuple[list[str | None], str | None]:
    value = response.headers.get("link")
    if not value:
        return [], None
    links = parse_header_links(value[:16384])
    return _pick(((link.get("rel"), link.get("url")) for link in links), response.url)


def _from_body(response: FetchResponse) -> tuple[list[str | None], str | None]:
    if not response.body:
        return [], None
    if looks_like_json_feed(response.body, response.media_type):
        feed = json.loads(response.body)
        hubs = [_http_url(hub.get("url"), response.url) for hub in feed.get("hubs") or ()
                if isinstance(hub, dict) and str(hub.get("type", "")).lower() == "websub"]
        return hubs, _http_url(feed.get("feed_url"), response.url)
    # Entities are neither resolved nor fetched: the poll already refused declarations.
    events = etree.iterparse(io.BytesIO(response.body), events=("start",), resolve_entities=False,
                             no_network=True, huge_tree=False, recover=True)
    return _pick(_head_links(events), response.url)


def _head_links(events: Iterable[tuple[str, Any]]) -> Iterator[tuple[object, object]]:
    """(rel, href) of the <link> elements before the first item or entry."""
    for count, (_, element) in enumerate(events):
        name = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if name in ("item", "entry") or count > MAX_HEAD_ELEMENTS:
            return
        if name == "link":
            yield element.get("rel"), element.get("href")
