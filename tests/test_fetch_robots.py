"""robots.txt (RFC 9309) and the per-host limiter."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import loopback_fetcher
from servers import HTTPServer

from worker.fetch import Fetcher, InProcessHostLimiter, NoLimit
from worker.fetch.robots import parse_robots, product_token
from worker.models import Settings

ROBOTS = b"""
# comments are ignored
User-agent: *
Disallow: /private
Disallow: /*.pdf$
Allow: /private/press

User-agent: otherbot
Disallow: /

User-Agent: NewsWatch
User-agent: somebot
Disallow: /members/
Allow: /members/public
Disallow: /search?q=*
Crawl-delay: 5
"""


def test_product_token() -> None:
    assert product_token("newswatch/0.1 (+https://example.org)") == "newswatch"
    assert product_token("NewsWatch-Bot") == "newswatch-bot"


def test_group_for_our_agent_is_used_instead_of_star() -> None:
    rules = parse_robots(ROBOTS.decode(), "newswatch")
    assert not rules.allowed("/members/x")
    assert rules.allowed("/members/public/page")
    assert rules.allowed("/private/secret")  # the * group does not apply to us
    assert not rules.allowed("/search?q=armenia")
    assert rules.allowed("/search")
    assert rules.crawl_delay == 5.0


def test_star_group_longest_match_and_wildcards() -> None:
    rules = parse_robots(ROBOTS.decode(), "unknownbot")
    assert not rules.allowed("/private/secret")
    assert rules.allowed("/private/press/release")  # longer Allow wins
    assert not rules.allowed("/files/report.pdf")
    assert rules.allowed("/files/report.pdf?download=1")  # $ anchors the end
    assert rules.allowed("/news/2020/armenia")
    assert rules.allowed("/robots.txt")


def test_allow_wins_a_tie_and_empty_disallow_allows() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /page\nAllow: /page\n", "newswatch")
    assert rules.allowed("/page")
    assert parse_robots("User-agent: *\nDisallow:\n", "newswatch").allowed("/anything")
    assert parse_robots("", "newswatch").allowed("/anything")


def test_percent_encoding_compared_normalised() -> None:
    rules = parse_robots("User-agent: *\nDisallow: /caf%C3%A9\n", "newswatch")
    assert not rules.allowed("/café/menu")


def test_garbage_robots_is_harmless() -> None:
    rules = parse_robots("\x00\x01 <html>not robots</html>\n" * 1000, "newswatch")
    assert rules.allowed("/x")


def robots_server(status: int, body: bytes = b"") -> HTTPServer:
    return HTTPServer(routes={"/robots.txt": (status, {"Content-Type": "text/plain"}, body)}).start()


def fetcher(**settings) -> Fetcher:
    """A fetcher whose User-Agent's product token is `newswatch` (what robots.txt groups name)."""
    return loopback_fetcher(**{"user_agent": "newswatch/0.1"} | settings)


def test_robots_fetched_once_per_site_and_applied() -> None:
    server = robots_server(200, ROBOTS)
    try:
        with fetcher() as f:
            assert not f.allowed_by_robots(server.url("/members/list"))
            assert f.allowed_by_robots(server.url("/news/1"))
            assert f.allowed_by_robots(server.url("/members/public"))
        assert [r.path for r in server.requests] == ["/robots.txt"]
        assert server.requests[0].headers["User-Agent"] == "newswatch/0.1"
    finally:
        server.stop()


@pytest.mark.parametrize("status, allowed", [(404, True), (403, True), (410, True),
                                             (500, False), (503, False)])
def test_robots_status_policy(status: int, allowed: bool) -> None:
    server = robots_server(status, b"User-agent: *\nDisallow: /\n")
    try:
        with fetcher() as f:
            assert f.allowed_by_robots(server.url("/news/1")) is allowed
    finally:
        server.stop()


def test_robots_unreachable_site_is_disallowed() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with fetcher() as f:
        assert not f.allowed_by_robots(f"http://127.0.0.1:{port}/news")


def test_robots_goes_through_the_address_guard() -> None:
    server = robots_server(200, b"")
    try:
        with fetcher(allow_private_networks=False) as f:
            assert not f.allowed_by_robots(server.url("/news"))
        assert server.requests == []
    finally:
        server.stop()


def test_robots_redirect_followed() -> None:
    server = HTTPServer(routes={
        "/robots.txt": (301, {"Location": "/real-robots.txt"}, b""),
        "/real-robots.txt": (200, {}, b"User-agent: *\nDisallow: /x\n"),
    }).start()
    try:
        with fetcher() as f:
            assert not f.allowed_by_robots(server.url("/x/1"))
            assert f.allowed_by_robots(server.url("/y"))
    finally:
        server.stop()


def test_non_http_url_is_not_allowed() -> None:
    with fetcher() as f:
        assert not f.allowed_by_robots("file:///etc/passwd")


# --------------------------------------------------------------------------- limiter


@pytest.mark.timeout(10)
def test_limiter_concurrency_cap() -> None:
    limiter = InProcessHostLimiter(min_interval=0.0, max_concurrent=2)
    assert limiter.acquire("a.example")
    assert limiter.acquire("a.example")
    assert not limiter.acquire("a.example", timeout=0)
    assert limiter.acquire("b.example", timeout=0)  # other hosts are independent
    got = threading.Event()

    def waiter() -> None:
        if limiter.acquire("a.example", timeout=5):
            got.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    limiter.release("a.example")
    assert got.wait(5)
    thread.join(5)


@pytest.mark.timeout(10)
def test_limiter_min_interval() -> None:
    limiter = InProcessHostLimiter(min_interval=60.0, max_concurrent=5)
    assert limiter.acquire("A.example")
    limiter.release("a.example")
    assert not limiter.acquire("a.example", timeout=0)  # the next start is a minute away
    assert limiter.acquire("c.example", timeout=0)


def test_limiter_rejects_bad_cap() -> None:
    with pytest.raises(ValueError):
        InProcessHostLimiter(max_concurrent=0)


# --------------------------------------------------------------------------- shared through the store


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.services)])
def store(request, tmp_path):
    from worker.store.redis import RedisStore
    from worker.store.sqlite import SQLiteStore

    backend = (SQLiteStore(tmp_path / "state.db") if request.param == "sqlite"
               else RedisStore(request.getfixturevalue("redis_url")))
    yield backend
    backend.close()


def process_fetcher(store) -> Fetcher:
    """A fetcher as each worker process builds it: its own cache, the shared store behind."""
    settings = Settings(allow_private_networks=True, fetch_timeout=5.0, user_agent="newswatch/0.1")
    return Fetcher(settings, limiter=NoLimit(), shared_robots=store)


def test_robots_txt_is_fetched_once_per_site_for_all_processes(store) -> None:
    server = robots_server(200, ROBOTS)
    try:
        processes = [process_fetcher(store) for _ in range(4)]
        for f in processes:
            assert not f.allowed_by_robots(server.url("/members/list"))
            assert f.allowed_by_robots(server.url("/members/public"))
        assert [r.path for r in server.requests] == ["/robots.txt"]
        for f in processes:
            f.close()
    finally:
        server.stop()


def test_an_unreachable_verdict_is_shared_too(store) -> None:
    server = robots_server(503)
    try:
        first, second = process_fetcher(store), process_fetcher(store)
        assert not first.allowed_by_robots(server.url("/news"))
        assert not second.allowed_by_robots(server.url("/news"))
        assert [r.path for r in server.requests] == ["/robots.txt"]
    finally:
        server.stop()


@pytest.mark.parametrize(("cache_control", "low", "high"), [
    (None, 3500, 3600),  # no max-age: an hour
    ("max-age=7200", 7100, 7200),  # the server's own word
    ("no-cache", 500, 600),  # not before every poll: 10 minutes at least
    ("max-age=31536000", 86300, 86400),  # not beyond RFC 9309's 24 hours
])
def test_the_shared_copy_lives_as_long_as_max_age_says_within_bounds(store, cache_control, low, high) -> None:
    from worker.fetch.robots import RobotsRecord

    headers = {"Content-Type": "text/plain"} | ({"Cache-Control": cache_control} if cache_control else {})
    server = HTTPServer(routes={"/robots.txt": (200, headers, b"User-agent: *\nDisallow: /x\n")}).start()
    try:
        f = process_fetcher(store)
        assert not f.allowed_by_robots(server.url("/x"))
        site = server.url("").rstrip("/")
        record = RobotsRecord.from_json(store.robots_txt(site))
        assert record is not None and record.outcome == "ok"
        assert low < record.expires_at - time.time() <= high
    finally:
        server.stop()


def test_an_expired_or_garbled_shared_copy_is_fetched_again(store) -> None:
    from worker.fetch.robots import RobotsRecord

    server = robots_server(200, b"User-agent: *\nDisallow: /x\n")
    try:
        site = server.url("").rstrip("/")
        stale = RobotsRecord("ok", "User-agent: *\nDisallow: /\n", expires_at=time.time() - 1)
        store.save_robots_txt(site, stale.to_json(), ttl=60)
        assert process_fetcher(store).allowed_by_robots(server.url("/y"))
        store.save_robots_txt(site, "{not json", ttl=60)
        assert process_fetcher(store).allowed_by_robots(server.url("/y"))
        assert [r.path for r in server.requests] == ["/robots.txt", "/robots.txt"]
    finally:
        server.stop()


@pytest.mark.timeout(20)
def test_a_process_waits_for_the_one_already_fetching(store) -> None:
    from worker.fetch.robots import RobotsRecord

    server = robots_server(200, b"User-agent: *\nAllow: /\n")
    try:
        site = server.url("").rstrip("/")
        assert store.try_lock(f"robots:{site}", "other-process", ttl=30)
        verdict: list[bool] = []
        waiter = threading.Thread(target=lambda: verdict.append(
            process_fetcher(store).allowed_by_robots(server.url("/news"))))
        waiter.start()
        # The other process finishes its fetch: the waiter takes its record.
        record = RobotsRecord("ok", "User-agent: *\nDisallow: /news\n", time.time() + 600)
        store.save_robots_txt(site, record.to_json(), ttl=600)
        waiter.join(15)
        assert verdict == [False]
        assert server.requests == []
    finally:
        server.stop()


class BrokenStore:
    """A store that fails every call, as Redis does while it is down."""

    def _fail(self, *args, **kwargs):
        raise ConnectionError("store is down")

    robots_txt = save_robots_txt = try_lock = unlock = _fail


def test_a_failing_store_leaves_the_robots_check_as_it_was_without_one() -> None:
    server = robots_server(200, ROBOTS)
    try:
        f = process_fetcher(BrokenStore())
        assert not f.allowed_by_robots(server.url("/members/list"))
        assert f.allowed_by_robots(server.url("/news/1"))
        assert [r.path for r in server.requests] == ["/robots.txt"]  # cached in the process
    finally:
        server.stop()


def test_robots_ttl_bounds() -> None:
    from worker.fetch.robots import MAX_TTL, MIN_TTL, robots_ttl

    assert robots_ttl(None, 3600.0) == 3600.0
    assert robots_ttl(7200.0, 3600.0) == 7200.0
    assert robots_ttl(0.0, 3600.0) == MIN_TTL
    assert robots_ttl(1e9, 3600.0) == MAX_TTL
