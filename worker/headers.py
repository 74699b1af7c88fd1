"""Reading HTTP header values: the one home for each rule.

Used by the fetcher (feeds, pages, robots.txt), the parser (a page's charset)
and the webhook sender (a receiver's Retry-After), so all read a header the
same way. Pure functions of the header text; no I/O.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def charset_param(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type value, lower-case, unquoted ("utf-8").

    The name is returned as the server wrote it; whether a codec by that name
    exists is the caller's question (see ``worker.parser.encoding``).
    """
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower() or None
    return None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP date; None if neither.

    A date in the past gives 0. A date without a zone is read as UTC (HTTP dates are GMT).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def max_age_seconds(cache_control: str | None) -> float | None:
    """Cache-Control's max-age in seconds; 0 for no-store/no-cache; None when absent."""
    if not cache_control:
        return None
    max_age = None
    for directive in cache_control.lower().split(","):
        name, _, arg = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            try:
                max_age = float(max(0, int(arg.strip().strip('"'))))
            except ValueError:
                continue
    return max_age
