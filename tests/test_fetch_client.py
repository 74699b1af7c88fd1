"""Fetcher on the normal paths: 200, conditional GET, errors, redirects, encodings, keep-alive."""

from __future__ import annotations

import gzip
import time
import zlib

import pytest
from helpers import loopback_fetcher
from servers import HTTPServer, Request

from worker.fetch import Fetcher, FetchError
from worker.headers import max_age_seconds, retry_after_seconds
from worker.models import Settings

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


def conditional(request: Request):
    if request.headers.get("If-None-Match") == '"v1"':
        return 304, {"ETag": '"v1"'}, b""
    if request.headers.get("If-Modified-Since") == "Sat, 21 Nov 2020 13:00:00 GMT":
        return 304, {}, b""
    return 200, {"ETag": '"v1"', "Last-Modified": "Sat, 21 Nov 2020 13:00:00 GMT",
                 "Content-Type": "application/rss+xml"}, FEED


ROUTES = {
    "/feed": (200, {"Content-Type": "application/rss+xml; charset=UTF-8", "ETag": '"abc"',
                    "Last-Modified": "Sat, 21 Nov 2020 13:00:00 GMT",
                    "Cache-Control": "public, max-age=300", "X-Many": "a"}, FEED),
    "/cond": conditional,
    "/gzip": (200, {"Content-Encoding": "gzip"}, gzip.compress(FEED)),
    "/deflate": (200, {"Content-Encoding": "deflate"}, zlib.compress(FEED)),
    "/raw-deflate": (200, {"Content-Encoding": "deflate"},
                     (lambda c: c.compress(FEED) + c.flush())(zlib.compressobj(wbits=-15))),
    "/br": (200, {"Content-Encoding": "br"}, b"\x0b\x02\x80hello\x03"),
    "/500": (500, {}, b"boom"),
    "/404": (404, {}, b"nope"),
    "/429": (429, {"Retry-After": "120"}, b""),
    "/503": (503, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
    "/r1": (301, {"Location": "/r2"}, b"moved"),
    "/r2": (307, {"Location": "/r3"}, b""),
    "/r3": (308, {"Location": "/feed?from=r3"}, b""),
    "/nolocation": (302, {}, b""),
    "/echo": lambda request: (200, {}, repr(sorted(request.headers.items())).encode()),
}
for hop in range(7):  # /chain0 -> /chain1 -> … -> /chain6 -> /feed
    ROUTES[f"/chain{hop}"] = (302, {"Location": f"/chain{hop + 1}" if hop < 6 else "/feed"}, b"")


@pytest.fixture(scope="module")
def server():
    srv = HTTPServer(routes=dict(ROUTES)).start()
    yield srv
    srv.stop()


@pytest.fixture
def fetcher():
    with loopback_fetcher(user_agent="newswatch-test/1.0") as f:
        yield f


def test_ok_response_fields(server, fetcher) -> None:
    response = fetcher.get(server.url("/feed"))
    assert response.status == 200
    assert response.body == FEED
    assert not response.not_modified
    assert response.etag == '"abc"'
    assert response.last_modified == "Sat, 21 Nov 2020 13:00:00 GMT"
    assert response.content_type == "application/rss+xml; charset=UTF-8"
    assert response.media_type == "application/rss+xml"
    assert response.charset == "utf-8"
    assert response.max_age == 300.0
    assert response.retry_after is None
    assert response.headers["x-many"] == "a"
    assert response.url == server.url("/feed")


def test_elapsed_time_covers_a_slow_answer(server, fetcher) -> None:
    def slow(_request):
        time.sleep(0.25)  # the server takes its time; the client must count it
        return 200, {"Content-Type": "text/plain"}, b"late"

    server.routes["/slow"] = slow
    response = fetcher.get(server.url("/slow"))
    assert response.body == b"late"
    assert response.elapsed_ms >= 250


def test_request_headers(server, fetcher) -> None:
    body = fetcher.get(server.url("/echo"), accept="application/rss+xml").body.decode()
    assert "('User-Agent', 'newswatch-test/1.0')" in body
    assert "('Accept', 'application/rss+xml')" in body
    assert "('Accept-Encoding', 'gzip, deflate')" in body
    assert "If-None-Match" not in body


def test_conditional_get_with_etag(server, fetcher) -> None:
    first = fetcher.get(server.url("/cond"))
    assert first.status == 200 and first.etag == '"v1"'
    again = fetcher.get(server.url("/cond"), etag=first.etag)
    assert again.status == 304
    assert again.not_modified
    assert again.body == b""
    assert server.requests[-1].headers["If-None-Match"] == '"v1"'


def test_conditional_get_with_last_modified(server, fetcher) -> None:
    again = fetcher.get(server.url("/cond"), last_modified="Sat, 21 Nov 2020 13:00:00 GMT")
    assert again.not_modified
    assert again.last_modified == "Sat, 21 Nov 2020 13:00:00 GMT"  # kept though not repeated
    assert server.requests[-1].headers["If-Modified-Since"] == "Sat, 21 Nov 2020 13:00:00 GMT"


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/raw-deflate"])
def test_content_encodings_decoded(server, fetcher, path) -> None:
    assert fetcher.get(server.url(path)).body == FEED


def test_unrequested_encoding_refused(server, fetcher) -> None:
    with pytest.raises(FetchError, match="unsupported content-encoding br"):
        fetcher.get(server.url("/br"))


@pytest.mark.parametrize("path, status", [("/500", 500), ("/404", 404)])
def test_error_status(server, fetcher, path, status) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.get(server.url(path))
    assert caught.value.status == status
    assert caught.value.reason == f"http {status}"


def test_retry_after_seconds(server, fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.get(server.url("/429"))
    assert caught.value.status == 429
    assert caught.value.retry_after == 120.0


def test_retry_after_date(server, fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.get(server.url("/503"))
    assert caught.value.status == 503
    assert caught.value.retry_after > 365 * 24 * 3600


def test_redirects_followed(server, fetcher) -> None:
    response = fetcher.get(server.url("/r1"))
    assert response.body == FEED
    assert response.url == server.url("/feed?from=r3")


def test_five_redirects_allowed_six_refused(server, fetcher) -> None:
    assert fetcher.get(server.url("/chain2")).body == FEED  # 5 redirects
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.get(server.url("/chain1"))  # 6 redirects


@pytest.mark.timeout(30)
def test_redirect_loop(server, fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.get(server.url("/loop"))
    assert caught.value.reason == "too many redirects"


def test_redirect_without_location(server, fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.get(server.url("/nolocation"))
    assert caught.value.status == 302


def test_max_bytes(server, fetcher) -> None:
    with pytest.raises(FetchError, match=r"body over 10 bytes"):
        fetcher.get(server.url("/feed"), max_bytes=10)


def test_credentials_only_for_their_origin(server, fetcher) -> None:
    body = fetcher.get(server.url("/echo").replace("://", "://user:p%40ss@")).body.decode()
    assert "('Authorization', 'Basic dXNlcjpwQHNz')" in body  # user:p@ss


def test_connection_refused() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with loopback_fetcher(fetch_timeout=5) as f, pytest.raises(FetchError) as caught:
        f.get(f"http://127.0.0.1:{port}/")
    assert caught.value.reason == "connect failed to 127.0.0.1"


def test_limiter_is_used_per_hop(server) -> None:
    calls: list[tuple[str, str]] = []

    class Recorder:
        def acquire(self, host: str, timeout: float | None = None) -> bool:
            calls.append(("acquire", host))
            return True

        def release(self, host: str) -> None:
            calls.append(("release", host))

    with loopback_fetcher(limiter=Recorder()) as f:
        f.get(server.url("/r3"))
    assert calls == [("acquire", "127.0.0.1"), ("release", "127.0.0.1")] * 2


def test_limiter_timeout_is_a_fetch_error(server) -> None:
    class Busy:
        def acquire(self, host: str, timeout: float | None = None) -> bool:
            return False

        def release(self, host: str) -> None:
            raise AssertionError("release without acquire")

    with loopback_fetcher(limiter=Busy()) as f, pytest.raises(FetchError, match="host busy"):
        f.get(server.url("/feed"))


def test_parse_helpers() -> None:
    assert max_age_seconds("public, max-age=60") == 60.0
    assert max_age_seconds("no-cache") == 0.0
    assert max_age_seconds("max-age=abc") is None
    assert max_age_seconds(None) is None
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


def test_waiting_for_the_host_slot_does_not_eat_the_request_timeout(server) -> None:
    import threading

    from worker.fetch import InProcessHostLimiter

    # Three requests to one host, 0.4 s apart by politeness, with a 0.3 s time budget each:
    # the second queues 0.4 s and the last 0.8 s, longer than their budget, and must succeed.
    limiter = InProcessHostLimiter(min_interval=0.4, max_concurrent=1)
    settings = Settings(allow_private_networks=True, fetch_timeout=0.3)
    results: list[object] = []
    with Fetcher(settings, limiter=limiter) as fetcher:

        def fetch() -> None:
            try:
                results.append(fetcher.get(server.url("/feed")).status)
            except FetchError as error:
                results.append(error.reason)

        threads = [threading.Thread(target=fetch) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [200, 200, 200]
