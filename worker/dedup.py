"""Identity of articles: identity keys and public URLs, stable ids, alert ids, content fingerprints.

Everything that decides "have we seen this before?" derives from here, so the
rules for what counts as the same article live in one place.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from; they never change the page.
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|_ga|_gl|"
    r"ref|ref_src|referrer|source|cmpid|cmp|ncid|ocid|spm|share|from|at_\w+|pk_\w+|"
    r"__twitter_impression|amp|outputtype|page)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _without_tracking(query: str) -> list[tuple[str, str]]:
    return [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if not _TRACKING_PARAMS.match(key)
    ]


def public_url(url: str) -> str:
    """The address as published, minus what only tracks the click.

    This is what an Article's `canonical_url` shows readers: a real address (the
    page's own scheme, host and path), without tracking parameters or fragment.
    Deduplication never compares these; it compares `identity_url`.
    """
    url = url.strip()
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    try:
        port = parts.port
    except ValueError:  # a malformed port: keep the address as given rather than guess
        return url
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    # Filter the raw pairs: decoding and re-encoding could change an address that works.
    query = "&".join(
        pair for pair in parts.query.split("&")
        if pair and not _TRACKING_PARAMS.match(unquote_plus(pair.split("=", 1)[0]))
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


# Every poll of a feed asks again for the identity of its ~50 entries, and each new
# entry asks twice (seen check, then Article): a pure function of a short string, cached.
@lru_cache(maxsize=32_768)
def identity_url(url: str) -> str:
    """The key that names the same article for deduplication, whatever link led to it.

    Lower-cased scheme and host, no default port, no fragment, no tracking
    parameters, remaining parameters sorted, `www.`/`amp.`, `/amp` and trailing
    slashes folded, and http folded into https. Kompas' `?page=all` (the whole
    article on one page) is folded too. Not an address to show anyone: the folded
    https form may not even exist (see `public_url`).
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if host.startswith("amp."):
        host = host[4:]
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    path = re.sub(r"/amp/?$", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted(_without_tracking(parts.query))
    # https and http name the same article; fold to https so both agree.
    if scheme == "http":
        scheme = "https"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def short_hash(*parts: str, size: int = 16) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:size]


def article_id(url: str) -> str:
    """Stable article id: every URL with the same identity (http or https, with or
    without www or tracking parameters) gives the same id."""
    return short_hash("article", identity_url(url))


def entry_key(url: str) -> str:
    """The store key of a feed entry: one per article, whichever feed lists it and with
    whatever tracking parameters."""
    return "entry:" + article_id(url)


def alert_id(article_identity: str, topic_id: str, channel_id: str) -> str:
    """Stable alert id: one per (article, topic, channel), the same on every retry."""
    return short_hash("alert", article_identity, topic_id, channel_id, size=24)


# ------------------------------------------------------------------ content fingerprints

_WORD = re.compile(r"\w+", re.UNICODE)


def text_fingerprint(text: str, shingle: int = 3) -> int:
    """64-bit SimHash of word shingles: near-identical texts get near-identical hashes.

    Used to recognise the same wire story republished with other titles and trimmings.
    """
    words = [w.casefold() for w in _WORD.findall(text)]
    if not words:
        return 0
    if len(words) < shingle:
        grams = [" ".join(words)]
    else:
        grams = [" ".join(words[i : i + shingle]) for i in range(len(words) - shingle + 1)]
    weights = [0] * 64
    for gram in grams:
        value = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    fingerprint = 0
    for bit, weight in enumerate(weights):
        if weight > 0:
            fingerprint |= 1 << bit
    return fingerprint


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
