"""The guarded HTTP client.

Every hop (first request and each redirect) is: parse the URL, resolve the host
once, refuse if any address is not allowed, then connect to that exact address
while the Host header, TLS SNI and certificate check keep the host name. The
connection pools are keyed by (scheme, host, port, address) so a kept-alive
connection is always one to a checked address. urllib3 is used directly
(not requests): no environment proxies that would bypass the check, and less
overhead per poll.
"""

from __future__ import annotations

import base64
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin

import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Timeout, parse_url

from worker.models import Settings

from ..errors import NewswatchError
from ..headers import charset_param, max_age_seconds, retry_after_seconds
from .guard import Resolver, SystemResolver, blocked_reason, is_ip_literal
from .limits import WATCHDOG, BodyDecoder, LimitExceeded, Watch
from .ratelimit import HostLimiter, InProcessHostLimiter

if TYPE_CHECKING:
    from .robots import SharedRobots

MAX_REDIRECTS = 5
MAX_HEADER_BYTES = 64 * 1024  # http.client already caps each line at 64 KiB and 100 headers
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FetchError(NewswatchError):
    """A fetch that gave no usable body. ``reason`` is short, e.g. "http 500", "timeout"."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.url = url


@dataclass(frozen=True)
class FetchResponse:
    url: str  # final URL, after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names, repeated headers joined with ", "
    body: bytes
    not_modified: bool
    etag: str | None
    last_modified: str | None
    elapsed_ms: int
    content_type: str | None  # the Content-Type header as sent (charset included)
    max_age: float | None  # seconds, from Cache-Control
    retry_after: float | None

    @property
    def media_type(self) -> str | None:
        """Content-Type without parameters, lower-case ("application/rss+xml")."""
        if not self.content_type:
            return None
        return self.content_type.split(";", 1)[0].strip().lower() or None

    @property
    def charset(self) -> str | None:
        """The charset parameter of Content-Type, if the server named one."""
        return charset_param(self.content_type)


# --------------------------------------------------------------------------- pools

# The watch of the request running on this thread; the pools attach each
# connection they hand out to it, so the watchdog can cut that socket.
_current = threading.local()


class _WatchedPoolMixin:
    def _get_conn(self, timeout: float | None = None) -> Any:
        # A mixin: the urllib3 pool it is mixed into (below) has _get_conn, this class does not.
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        watch: Watch | None = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(conn)
        return conn


class _HTTPPool(_WatchedPoolMixin, HTTPConnectionPool):
    pass


class _HTTPSPool(_WatchedPoolMixin, HTTPSConnectionPool):
    pass


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    try:
        import certifi  # the CA bundle requests uses; the system one may be missing in slim images

        context.load_verify_locations(certifi.where())
    except (ImportError, OSError):
        pass
    return context


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # lower-case, IDNA, no brackets
    port: int
    request_uri: str
    host_header: str
    auth: str | None


def _parse_target(url: str) -> _Target:
    try:
        parsed = parse_url(url.strip())
    except (LocationParseError, ValueError) as exc:
        raise FetchError(f"bad url {url[:200]!r}", url=url) from exc
    scheme = (parsed.scheme or "").lower()
    if scheme not in _DEFAULT_PORTS:
        raise FetchError(f"scheme not allowed {scheme or '(none)'!r}", url=url)
    host = (parsed.host or "").strip("[]").rstrip(".").lower()
    if not host:
        raise FetchError("url has no host", url=url)
    port = parsed.port or _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise FetchError(f"bad port {port}", url=url)
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    auth = None
    if parsed.auth:
        auth = "Basic " + base64.b64encode(unquote(parsed.auth).encode()).decode("ascii")
    return _Target(scheme, host, port, parsed.request_uri or "/", host_header, auth)


# --------------------------------------------------------------------------- fetcher


# How long a request may queue behind others to the same host before it gives up.
HOST_SLOT_WAIT = 300.0


class Fetcher:
    """Guarded, capped, polite HTTP GET with keep-alive. Safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        limiter: HostLimiter | None = None,
        max_pools: int = 512,
        robots_ttl: float | None = None,
        shared_robots: SharedRobots | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._resolver: Resolver = resolver or SystemResolver()
        self.limiter: HostLimiter = limiter or InProcessHostLimiter(
            settings.per_host_interval, settings.per_host_concurrency)
        self._max_pools = max_pools
        # Connections kept per (host, address): as many as may run at once to one host.
        self._pool_size = max(4, settings.per_host_concurrency)
        self._pools: OrderedDict[tuple[str, str, int, str], HTTPConnectionPool] = OrderedDict()
        self._lock = threading.Lock()
        # A private CA can be passed in; the default one is made at the first https pool
        # (loading the CA bundle takes ~50 ms, which a fetcher of http URLs never needs).
        self._tls: ssl.SSLContext | None = ssl_context
        self._base_headers = {
            "User-Agent": settings.user_agent,
            "Accept-Encoding": "gzip, deflate",
        }
        from .robots import DEFAULT_TTL, RobotsCache  # late: robots uses FetchError from here

        # `shared_robots` (the store) lets every process reuse one fetch of a site's robots.txt.
        self.robots = RobotsCache(self, ttl=robots_ttl or DEFAULT_TTL, shared=shared_robots)

    # -- public ---------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        max_bytes: int | None = None,
    ) -> FetchResponse:
        """GET ``url`` following up to 5 redirects; raise FetchError unless 2xx or 304."""
        return self._get(url, etag=etag, last_modified=last_modified, accept=accept,
                         max_bytes=max_bytes, truncate=False)

    def get_truncated(self, url: str, *, max_bytes: int, accept: str | None = None) -> FetchResponse:
        """GET ``url`` like :meth:`get`, but keep the first ``max_bytes`` of a longer body.

        The same address guard, redirects, host limits and errors as ``get``; only a
        body over the cap is cut there instead of failing the fetch. For documents
        whose head is all that counts: robots.txt (RFC 9309 §2.5 lets a crawler
        stop at 500 KiB). No conditional request: there are no validators to send.
        """
        return self._get(url, etag=None, last_modified=None, accept=accept,
                         max_bytes=max_bytes, truncate=True)
    def post_form(self, url: str, fields: Mapping[str, str], max_bytes: int = 64 * 1024) -> FetchResponse:
        """POST ``fields`` form-encoded to ``url`` under the same address policy, caps and
        per-host limits as a GET (a WebSub hub named by a feed is as untrusted as the feed).
        Redirects are not followed; FetchError unless 2xx."""
        from urllib.parse import urlencode

        started = time.monotonic()
        target = _parse_target(url)
        headers = {**self._base_headers, "Accept": "*/*", "Host": target.host_header,
                   "Content-Type": "application/x-www-form-urlencoded"}
        watch = WATCHDOG.watch(self.settings.fetch_timeout)
        try:
            result = self._hop(target, url, headers, watch, max_bytes, True, started,
                               urlencode(fields).encode())
        finally:
            watch.done = True
        if isinstance(result, str):
            raise FetchError("redirect not followed for a POST", url=url)
        return result

    def allowed_by_robots(self, url: str) -> bool:
        """Whether robots.txt of the URL's site lets our User-Agent fetch it (RFC 9309)."""
        return self.robots.allowed(url)

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def _get(self, url: str, *, etag: str | None, last_modified: str | None,
             accept: str | None, max_bytes: int | None, truncate: bool) -> FetchResponse:
        started = time.monotonic()
        limit = self.settings.max_body_bytes if max_bytes is None else max_bytes
        headers = dict(self._base_headers)
        headers["Accept"] = accept or "*/*"
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        first = _parse_target(url)
        current = url
        watch = WATCHDOG.watch(self.settings.fetch_timeout)
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                target = _parse_target(current)
                hop_headers = dict(headers)
                hop_headers["Host"] = target.host_header
                # Credentials from the URL go to the origin that was named with them only.
                if first.auth and (target.scheme, target.host, target.port) == (
                    first.scheme, first.host, first.port
                ):
                    hop_headers["Authorization"] = first.auth
                result = self._hop(target, current, hop_headers, watch, limit, truncate, started)
                if isinstance(result, FetchResponse):
                    return result
                current = result
            raise FetchError("too many redirects", url=url)
        finally:
            watch.done = True

    def _addresses(self, target: _Target, url: str) -> list[str]:
        if is_ip_literal(target.host):
            addresses = [target.host]
        else:
            try:
                addresses = list(self._resolver(target.host))
            except (OSError, ValueError, LookupError) as exc:  # incl. UnicodeError, KeyError
                raise FetchError(f"dns error for {target.host}", url=url) from exc
            if not addresses:
                raise FetchError(f"dns error for {target.host}", url=url)
        allow = self.settings.allow_private_networks
        for address in addresses:  # every address, so no answer order can pick a bad one
            reason = blocked_reason(address, allow_private=allow)
            if reason:
                raise FetchError(reason, url=url)
        return addresses

    def _pool(self, target: _Target, address: str) -> HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, address)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            if target.scheme == "https":
                if self._tls is None:
                    self._tls = _tls_context()
                pool = _HTTPSPool(
                    address, target.port, maxsize=self._pool_size, block=False, retries=False,
                    server_hostname=target.host, assert_hostname=target.host,
                    ssl_context=self._tls, cert_reqs="CERT_REQUIRED",
                )
            else:
                pool = _HTTPPool(address, target.port, maxsize=self._pool_size, block=False, retries=False)
            self._pools[key] = pool
            evicted = None
            if len(self._pools) > self._max_pools:
                _, evicted = self._pools.popitem(last=False)
        if evicted is not None:
            evicted.close()
        return pool

    def _hop(self, target: _Target, url: str, headers: dict[str, str], watch: Watch,
             limit: int, truncate: bool, started: float,
             form: bytes | None = None) -> FetchResponse | str:
        """One request (a POST of `form` when given); returns the response, or the next
        URL on a redirect."""
        addresses = self._addresses(target, url)
        with watch.paused():
            acquired = self.limiter.acquire(target.host, timeout=HOST_SLOT_WAIT)
        if not acquired:
            raise FetchError(f"host busy: no request slot within {HOST_SLOT_WAIT:g}s", url=url)
        try:
            return self._request(target, url, headers, addresses, watch, limit, truncate, started,
                                 form)
        finally:
            self.limiter.release(target.host)

    def _request(self, target: _Target, url: str, headers: dict[str, str], addresses: list[str],
                 watch: Watch, limit: int, truncate: bool, started: float,
                 form: bytes | None = None) -> FetchResponse | str:
        response = None
        _current.watch = watch
        try:
            for index, address in enumerate(addresses[:3]):
                left = watch.remaining()
                if left <= 0:
                    raise FetchError("timeout", url=url)
                try:
                    response = self._pool(target, address).urlopen(
                        "GET" if form is None else "POST", target.request_uri, body=form,
                        headers=headers, redirect=False,
                        retries=False, preload_content=False, decode_content=False,
                        assert_same_host=False, release_conn=False,
                        timeout=Timeout(connect=min(left, 10.0), read=left),
                    )
                    break
                except NewConnectionError:
                    if index == min(len(addresses), 3) - 1:
                        raise
            assert response is not None
            return self._finish(response, target, url, watch, limit, truncate, started, headers)
        except FetchError:
            raise
        except LimitExceeded as exc:
            raise FetchError(exc.reason, url=url) from exc
        except NewConnectionError as exc:  # a subclass of ConnectTimeoutError: check it first
            if watch.expired or "timed out" in str(exc):
                raise FetchError("timeout", url=url) from exc
            raise FetchError(f"connect failed to {target.host}", url=url) from exc
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise FetchError("timeout", url=url) from exc
        except SSLError as exc:
            raise FetchError("tls error", url=url) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if watch.expired:
                raise FetchError("timeout", url=url) from exc
            text = repr(exc)
            if "LineTooLong" in text or ("more than" in text and "headers" in text):
                raise FetchError("headers too large", url=url) from exc
            raise FetchError("connection error", url=url) from exc
        finally:
            _current.watch = None
            if response is not None:
                conn = getattr(response, "connection", None)
                if conn is not None:
                    conn._newswatch_watch = None  # back to the pool: no longer ours to cut
                response.release_conn()

    def _finish(self, response: Any, target: _Target, url: str, watch: Watch, limit: int,
                truncate: bool, started: float,
                sent: dict[str, str]) -> FetchResponse | str:
        status = response.status
        header_bytes = 0
        headers: dict[str, str] = {}
        for name, value in response.headers.itermerged():
            header_bytes += len(name) + len(value) + 4
            headers[name.lower()] = value
        if header_bytes > MAX_HEADER_BYTES:
            self._discard(response)
            raise FetchError("headers too large", status=status, url=url)
        retry_after = retry_after_seconds(headers.get("retry-after"))

        if status in _REDIRECTS:
            location = headers.get("location")
            self._drain(response, watch)
            if not location:
                raise FetchError(f"http {status} without location", status=status, url=url)
            return urljoin(url, location.strip())
        if status == 304 or not 200 <= status < 300:
            self._drain(response, watch)
            if status != 304:
                raise FetchError(f"http {status}", status=status, retry_after=retry_after, url=url)
            body = b""
        else:
            body = self._read_body(response, headers, watch, limit, truncate)

        etag, last_modified = headers.get("etag"), headers.get("last-modified")
        if status == 304:  # a 304 need not repeat the validators: the ones sent still hold
            etag = etag or sent.get("If-None-Match")
            last_modified = last_modified or sent.get("If-Modified-Since")
        return FetchResponse(
            url=url, status=status, headers=headers, body=body, not_modified=status == 304,
            etag=etag, last_modified=last_modified,
            elapsed_ms=int((time.monotonic() - started) * 1000), content_type=headers.get("content-type"),
            max_age=max_age_seconds(headers.get("cache-control")), retry_after=retry_after,
        )

    def _read_body(self, response: Any, headers: dict[str, str], watch: Watch, limit: int,
                   truncate: bool) -> bytes:
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            self._discard(response)
            raise FetchError(f"unsupported content-encoding {encoding[:40]}")
        length = headers.get("content-length", "")
        if not truncate and length.isdigit() and int(length) > limit:
            self._discard(response)
            raise LimitExceeded(f"body over {limit} bytes")
        decoded = BodyDecoder(encoding, limit, truncate)
        wire_bytes = 0  # compressed bytes are capped too, not only what they inflate to
        try:
            while True:
                if watch.remaining() <= 0:
                    raise FetchError("timeout")
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                wire_bytes += len(chunk)
                if wire_bytes > limit and not truncate:
                    raise LimitExceeded(f"body over {limit} bytes")
                decoded.feed(chunk)
                if decoded.full or wire_bytes > limit:
                    break
        except BaseException:
            self._discard(response)
            raise
        if watch.expired:  # the watchdog shut the socket: what we have is cut short
            self._discard(response)
            raise FetchError("timeout")
        if decoded.full or wire_bytes > limit:
            self._discard(response)  # stopped early: the connection has unread bytes
        return decoded.finish()

    @staticmethod
    def _drain(response: Any, watch: Watch, limit: int = 64 * 1024) -> None:
        """Read a small unwanted body so the connection can be reused, else drop it."""
        read = 0
        try:
            while read <= limit and watch.remaining() > 0:
                chunk = response.read1(_CHUNK)
                if not chunk:
                    return
                read += len(chunk)
        except Exception:  # noqa: BLE001 - the body was unwanted anyway
            pass
        Fetcher._discard(response)

    @staticmethod
    def _discard(response: Any) -> None:
        """Close the connection under a response we stop reading mid-way."""
        conn = getattr(response, "connection", None)
        response.close()
        if conn is not None:
            conn.close()
