"""Guarded HTTP fetching: SSRF address policy, size and time caps, robots.txt, per-host limits.

    fetcher = Fetcher(settings)
    response = fetcher.get(url, etag=previous.etag, last_modified=previous.last_modified)
    if response.not_modified: ...
"""

from .client import MAX_REDIRECTS, Fetcher, FetchError, FetchResponse
from .guard import SystemResolver, blocked_reason
from .ratelimit import HostLimiter, InProcessHostLimiter, NoLimit, RedisHostLimiter

__all__ = [
    "MAX_REDIRECTS",
    "FetchError",
    "FetchResponse",
    "Fetcher",
    "HostLimiter",
    "InProcessHostLimiter",
    "NoLimit",
    "RedisHostLimiter",
    "SystemResolver",
    "blocked_reason",
]
