"""Helpers shared by the source readers: the error type, hostile-input screening, HTML sniffing."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

from ..errors import NewswatchError


class SourceError(NewswatchError, ValueError):
    """A source body that cannot be read as what the source claims to be."""


_ENTITY_MARKERS = tuple(
    "<!ENTITY".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le",
                                                   "utf-32-be")
)
# C0 controls that XML 1.0 forbids; in UTF-8 and single-byte charsets these
# bytes never occur inside a multi-byte character, so deleting them is safe.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def reject_entity_declarations(body: bytes) -> None:
    """Refuse XML that declares entities (billion laughs, external entities, XXE).

    Feeds never need them; checking the raw bytes means no parser is ever
    given the chance to expand or fetch one.
    """
    for marker in _ENTITY_MARKERS:
        if marker in body:
            raise SourceError("xml declares entities (refused: entity expansion / external entity)")


def reject_tag_floods(body: bytes, limit: int) -> None:
    """Refuse bodies with more than ``limit`` tags before a slow parser sees them.

    feedparser and BeautifulSoup cost tens of microseconds per tag, so a 10 MB
    body made of tiny elements would hold a worker for minutes. Counting "<" is
    a cheap, conservative stand-in for the tag count (it runs at memchr speed).
    """
    count = body.count(b"<")
    if is_wide_encoding(body):
        count = max(count, body.count("<".encode("utf-16-le")), body.count("<".encode("utf-16-be")))
    if count > limit:
        raise SourceError(f"too much markup ({count} tags, limit {limit})")


def is_wide_encoding(body: bytes) -> bool:
    head = body[:4]
    return head.startswith(_WIDE_BOMS) or (len(head) == 4 and (head[0] == 0 or head[1] == 0))


def strip_control_bytes(body: bytes) -> bytes:
    """Drop NUL and other forbidden control bytes (not for UTF-16/32 bodies)."""
    if is_wide_encoding(body):
        return body
    return body.translate(None, _CONTROL_BYTES)


_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_TAGS = re.compile(r"<[^>]{0,2000}>")
_SPACE = re.compile(r"\s+")


def clean_text(value: object, limit: int = 2000) -> str:
    """One line of plain text: tags removed, entities decoded, whitespace collapsed."""
    if not isinstance(value, str) or not value:
        return ""
    text = html.unescape(_TAGS.sub(" ", value[: limit * 20]))
    text = _CONTROL_CHARS.sub("", text)
    return _SPACE.sub(" ", text).strip()[:limit]


def clean_markup(value: object) -> str:
    """HTML kept as HTML, minus characters no consumer wants."""
    if not isinstance(value, str):
        return ""
    return _CONTROL_CHARS.sub("", value).strip()


def absolute_url(value: object, base: str) -> str | None:
    """``value`` resolved against ``base`` if it is an http(s) URL, else None."""
    if not isinstance(value, str):
        return None
    value = _CONTROL_CHARS.sub("", value).strip()
    if not value or len(value) > 4096:
        return None
    try:
        url = urljoin(base, value)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.split("#", 1)[0] if "#" in url else url


def looks_like_html_page(body: bytes) -> bool:
    """Whether a body that should be a feed is an HTML page instead (a site's front page).

    Looks only at the head: a page says so in its first bytes, while a feed may
    quote HTML further down (in a description or content:encoded).
    """
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or (
        b"<html" in head and b"<rss" not in head and b"<feed" not in head
    )


def language_tag(value: object) -> str | None:
    """"id-ID" -> "id"; None when it does not look like a language tag."""
    if not isinstance(value, str):
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None
