"""Identity of articles: canonical URLs, stable ids, alert ids, content fingerprints.

Everything that decides "have we seen this before?" derives from here, so the
rules for what counts as the same article live in one place.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from; they never change the page.
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|_ga|_gl|"
    r"ref|ref_src|referrer|source|cmpid|cmp|ncid|ocid|spm|share|from|at_\w+|pk_\w+|"
    r"__twitter_impression|amp|outputtype|page)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


# Every poll of a feed asks again for the canonical URLs of its ~50 entries, and each new
# entry asks twice (seen check, then Article): a pure function of a short string, cached.
@lru_cache(maxsize=32_768)
def canonical_url(url: str) -> str:
    """The URL that names the same page for every reader.

    Lower-cased scheme and host, no default port, no fragment, no tracking
    parameters, remaining parameters sorted, `/amp` and trailing slashes folded.
    Kompas' `?page=all` (the whole article on one page) is folded too.
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
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAMS.match(key)
    ]
    query.sort()
    # https and http name the same article; fold to https so both agree.
    if scheme == "http":
        scheme = "https"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def short_hash(*parts: str, size: int = 16) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:size]


def article_id(canonical: str) -> str:
    """Stable article id: the same canonical URL always gives the same id."""
    return short_hash("article", canonical)


def entry_key(url: str) -> str:
    """The store key of a feed entry: one per article, whichever feed lists it and with
    whatever tracking parameters."""
    return "entry:" + article_id(canonical_url(url))


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
