"""Keep secrets out of anything a person or a log will read.

Shared by the alert senders (every `DeliveryResult.detail`) and the logging
module, so both hide the same things the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"

# Webhook services put their token in the path (Slack /services/T…/B…/<token>,
# Discord /api/webhooks/<id>/<token>): a long segment mixing letters and digits
# is treated as a token. Short words and plain numbers stay readable.
_TOKEN_SEGMENT = re.compile(r"^(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{20,}$")
# Names of query parameters and headers whose values are credentials.
_SECRET_NAME = re.compile(r"token|key|secret|pass|auth|sig|cookie|session|code|cred", re.I)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (and its URL-encoded forms) by ***."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        # A password inside a URL is percent-encoded; hide that spelling too.
        forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
    # Longest first, so a secret that contains another is hidden whole.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def redact_url(url: str) -> str:
    """The URL with its password, query values and token-like path segments masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    # Apprise URLs may carry the token where a host would be (tgram://<bot-token>/<chat>).
    netloc = re.sub(
        r"[A-Za-z0-9_\-]{20,}", lambda found: MASK if _TOKEN_SEGMENT.match(found.group(0)) else found.group(0), netloc
    )
    path = "/".join(MASK if _TOKEN_SEGMENT.match(segment) else segment for segment in parts.path.split("/"))
    query = urlencode([(key, MASK) for key, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def url_host(url: str) -> str:
    """Only the host of a URL: what a delivery detail may name."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that must never be shown: password, query values, tokens."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found: list[str] = []
    if parts.password:
        found.append(unquote(parts.password))
        found.append(parts.password)
    # Short values of harmless parameters (?v=1) would mask every "1" in a log line.
    found.extend(
        value for key, value in parse_qsl(parts.query) if value and (_SECRET_NAME.search(key) or len(value) >= 16)
    )
    # Apprise URLs put tokens anywhere (tgram://<bot-token>/<chat>): scan every piece.
    found.extend(piece for piece in re.split(r"[/:@?&=#]+", url.split("://", 1)[-1]) if _TOKEN_SEGMENT.match(piece))
    return found


def channel_secrets(options: Mapping[str, Any]) -> list[str]:
    """Every secret a channel's options carry, for `redact` (logging reuses this)."""
    found: list[str] = []
    secret = options.get("secret")
    if isinstance(secret, str) and secret:
        found.append(secret)
    for key in ("smtp_url", "url"):
        value = options.get(key)
        if isinstance(value, str):
            found.extend(url_secrets(value))
    urls = options.get("urls")
    if isinstance(urls, list):
        for value in urls:
            if isinstance(value, str):
                found.extend(url_secrets(value))
    headers = options.get("headers")
    if isinstance(headers, Mapping):
        # Custom headers are how people pass API keys (Authorization, X-Api-Key).
        for name, value in headers.items():
            if value and _SECRET_NAME.search(str(name)):
                found.append(str(value))
                # "Bearer abc" is also logged as just "abc".
                found.extend(part for part in str(value).split() if len(part) >= 8)
    return found
