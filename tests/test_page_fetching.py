"""Article pages of `full_text` sources: which entries get a page fetch (the first-poll
backlog policy), and a poll's pages fetched side by side instead of one after another."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from helpers import DropJobs
from servers import HTTPServer

from worker import poll
from worker.models import Channel, Config, FeedEntry, Settings, Source, Topic
from worker.runtime import Runtime

NOW = datetime.now(UTC)


def page(n: int) -> bytes:
    # Only the page says "halaman" (the topic's word); the feed's summary does not.
    body = "".join(f"<p>Paragraf {k} dari laporan nomor {n} tentang cuaca di halaman balai kota hari ini.</p>"
                   for k in range(6))
    return (f"<html><head><title>Laporan {n}</title></head><body><article><h1>Laporan {n}</h1>"
            f"{body}</article></body></html>").encode()


def feed(base: str, numbers: range, age: timedelta = timedelta(minutes=10)) -> bytes:
    items = "".join(
        f"<item><title>Laporan {n}</title><link>{base}/story-{n}</link><guid>story-{n}</guid>"
        f"<pubDate>{format_datetime(NOW - age * (n + 1))}</pubDate>"
        f"<description>Ringkasan laporan {n}.</description></item>"
        for n in numbers)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


@pytest.fixture
def site():
    server = HTTPServer().start()
    for n in range(12):
        server.routes[f"/story-{n}"] = (200, {"Content-Type": "text/html; charset=utf-8"}, page(n))
    yield server
    server.stop()


def runtime_for(site: HTTPServer, tmp_path, **settings) -> Runtime:
    topic = Topic("t", "T", "halaman", channels=("hook",))
    config = Config((Source("s", site.url("/feed"), every=300.0, full_text=True),), (topic,),
                    (Channel("hook", "webhook", {"url": site.url("/hook")}),),
                    Settings(state_path=str(tmp_path / "state.db"), allow_private_networks=True,
                             per_host_interval=0.0, **settings))
    return Runtime(config, DropJobs())


def page_requests(site: HTTPServer) -> list[str]:
    return sorted(r.path for r in site.requests if r.path.startswith("/story-"))


def entry(n: int, age: timedelta | None) -> FeedEntry:
    return FeedEntry(url=f"http://x.test/story-{n}", published=None if age is None else NOW - age)


# --------------------------------------------------------------------------- the policy


def test_a_later_poll_fetches_the_page_of_every_new_entry(tmp_path, site):
    rt = runtime_for(site, tmp_path)
    source = rt.config.sources[0]
    entries = [entry(n, timedelta(days=30)) for n in range(8)]
    assert poll.pages_to_fetch(rt, source, entries, first_poll=False) == [e.url for e in entries]
    rt.close()


def test_a_first_poll_fetches_only_the_newest_recent_entries(tmp_path, site):
    rt = runtime_for(site, tmp_path, backlog_pages=2, backlog_window=6 * 3600.0)
    source = rt.config.sources[0]
    entries = [entry(0, timedelta(days=3)), entry(1, timedelta(hours=5)), entry(2, timedelta(minutes=5)),
               entry(3, timedelta(hours=1)), entry(4, timedelta(days=40))]
    assert poll.pages_to_fetch(rt, source, entries, first_poll=True) == [
        "http://x.test/story-2", "http://x.test/story-3"]
    rt.close()


def test_an_undated_entry_counts_as_new_on_a_first_poll(tmp_path, site):
    rt = runtime_for(site, tmp_path, backlog_pages=1)
    source = rt.config.sources[0]
    assert poll.pages_to_fetch(rt, source, [entry(0, timedelta(days=9)), entry(1, None)], first_poll=True) == [
        "http://x.test/story-1"]
    rt.close()


def test_a_source_without_full_text_fetches_no_page(tmp_path, site):
    rt = runtime_for(site, tmp_path)
    plain = Source("p", site.url("/feed"), every=300.0)
    assert poll.pages_to_fetch(rt, plain, [entry(0, None)], first_poll=False) == []
    rt.close()


# --------------------------------------------------------------------------- in a real poll


def test_a_new_sources_backlog_is_matched_on_feed_text_and_only_its_newest_pages_fetched(tmp_path, site):
    base = f"http://127.0.0.1:{site.port}"
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, feed(base, range(10)))
    rt = runtime_for(site, tmp_path, backlog_pages=3)
    try:
        first = poll.poll_source(rt, "s")
        # Every entry is new and processed, but only the 3 newest pages are fetched; only
        # their text says "halaman", so they alone match.
        assert (first.new, first.matched) == (10, 3)
        assert page_requests(site) == ["/story-0", "/story-1", "/story-2"]
        # Two new entries later: the poll after the first fetches every new page.
        site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, feed(base, range(12)))
        second = poll.poll_source(rt, "s")
        assert (second.new, second.matched) == (2, 2)
        assert page_requests(site) == sorted(["/story-0", "/story-1", "/story-2", "/story-10", "/story-11"])
    finally:
        rt.close()


def test_a_polls_pages_are_fetched_side_by_side(tmp_path, site):
    """Each page answers only once all three are being fetched at once: fetched one after
    another, the first would time out (fetch_timeout) and the entry would lose its page."""
    base = f"http://127.0.0.1:{site.port}"
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, feed(base, range(3)))
    together = threading.Barrier(3, timeout=10)

    def after_the_others(n: int):
        def answer(_request):
            together.wait()
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page(n)
        return answer

    for n in range(3):
        site.routes[f"/story-{n}"] = after_the_others(n)
    rt = runtime_for(site, tmp_path, page_fetch_concurrency=3, per_host_concurrency=3, fetch_timeout=20.0)
    try:
        result = poll.poll_source(rt, "s")
        assert (result.new, result.matched, result.entry_errors) == (3, 3, 0)
        assert not together.broken
    finally:
        rt.close()


def test_a_page_that_fails_leaves_its_entry_on_the_feed_text_and_the_others_whole(tmp_path, site):
    base = f"http://127.0.0.1:{site.port}"
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, feed(base, range(3)))
    site.routes["/story-1"] = (500, {"Content-Type": "text/plain"}, b"down")
    rt = runtime_for(site, tmp_path)
    try:
        result = poll.poll_source(rt, "s")
        assert (result.new, result.matched, result.entry_errors) == (3, 2, 0)
    finally:
        rt.close()
