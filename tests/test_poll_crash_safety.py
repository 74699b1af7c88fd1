"""A poll can die at any line and be run again: nothing it wrote marks unfinished work done.

The process death is simulated in-process by a BaseException (which, like SIGKILL, runs
none of the pipeline's `except Exception` clean-up), raised at a chosen point of the
poll; the rerun is a fresh Runtime on the same store, as a restarted worker would be.
The end-to-end version with real SIGKILLs of Celery workers is tests/test_chaos.py.
"""

from __future__ import annotations

import sqlite3
import time

import pytest
from helpers import DropJobs
from scenario import AFP_TEXT
from servers import HTTPServer, wait_for

from worker import dedup, poll
from worker.models import Channel, Config, Settings, Source, Topic
from worker.runtime import Runtime
from worker.store import PENDING, EntryOutcomes


class WorkerKilled(BaseException):
    """Stands for SIGKILL: no `except Exception` in the pipeline sees it."""


def five_story_feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>Armenia dan Azerbaijan {n}</title><link>{base}/story-{n}</link>"
        f"<guid>story-{n}</guid><description>{AFP_TEXT} Laporan nomor {n} tentang "
        f"kejadian ke-{n} di perbatasan.</description></item>"
        for n in range(5)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


@pytest.fixture
def site():
    server = HTTPServer().start()
    base = f"http://127.0.0.1:{server.port}"
    server.routes["/feed"] = (200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'},
                              five_story_feed(base))
    yield server
    server.stop()


def make_config(site: HTTPServer, state_path: str) -> Config:
    topic = Topic("t", "T", "armenia AND azerbaijan", channels=("hook",))
    return Config((Source("s", site.url("/feed"), every=300.0),), (topic,),
                  (Channel("hook", "webhook", {"url": site.url("/hook")}),),
                  Settings(state_path=state_path, allow_private_networks=True,
                           per_host_interval=0.0, redelivery_after=30.0))


@pytest.fixture
def short_entry_claims():
    """A dead poll's entry claims last 0.1 s instead of poll.MIN_ENTRY_CLAIM (1 s), so the
    rerun waits less for them to run out; outside monkeypatch, which the test undoes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(poll, "MIN_ENTRY_CLAIM", 0.1)
        yield


def ledger_alerts(runtime: Runtime) -> list[str]:
    return sorted(d.article_id for d in runtime.store.recent_deliveries(100))


def kill_at(monkeypatch, function: str, after_calls: int) -> None:
    """Make poll.<function> die on its call number `after_calls + 1`."""
    real = getattr(poll, function)
    calls = []

    def dying(*args, **kwargs):
        if len(calls) == after_calls:
            raise WorkerKilled(function)
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(poll, function, dying)


@pytest.mark.parametrize("function,after_calls", [
    ("build_article", 0),     # dies fetching / parsing the first entry
    ("build_article", 2),     # dies in the middle of the poll, two entries alerted
    ("match_and_alert", 3),   # dies between parsing and the ledger
    ("track_health", 0),      # every entry alerted, dies before the poll is recorded
])
def test_a_poll_killed_anywhere_is_run_again_and_alerts_each_entry_once(
        tmp_path, site, monkeypatch, short_entry_claims, function, after_calls):
    config = make_config(site, str(tmp_path / "state.db"))
    first = Runtime(config, DropJobs())
    kill_at(monkeypatch, function, after_calls)
    # Handed out `poll_claim` ago: its entry claims last only the minimum.
    claimed_at = time.time() - config.settings.poll_claim
    with pytest.raises(WorkerKilled):
        poll.poll_source(first, "s", claimed_at=claimed_at)
    first.close()
    monkeypatch.undo()
    died = time.time()

    restarted = Runtime(config, DropJobs())
    try:
        # The scheduler hands the source out again once the dead poll's claims ran out.
        wait_for(lambda: time.time() > died + poll.MIN_ENTRY_CLAIM, what="the claims to end")
        rerun = poll.poll_source(restarted, "s", claimed_at=time.time())
        assert rerun.status == "ok" and rerun.busy == 0
        alerted_before = 5 if function == "track_health" else after_calls
        assert rerun.alerts == 5 - alerted_before
        alerted = ledger_alerts(restarted)
        assert len(alerted) == 5 and len(set(alerted)) == 5, "each entry alerts exactly once"
        assert all(d.state == PENDING for d in restarted.store.recent_deliveries(100))
        # Now the poll is done: the next one is conditional and finds nothing new.
        later = poll.poll_source(restarted, "s")
        assert later.new == 0 and site.requests[-1].headers.get("If-None-Match") == '"v1"'
    finally:
        restarted.close()


def test_a_poll_that_finds_another_poll_working_keeps_no_validators(tmp_path, site):
    config = make_config(site, str(tmp_path / "state.db"))
    runtime = Runtime(config, DropJobs())
    try:
        # Another worker's poll holds two of the entries (it is alive, or died recently).
        keys = [dedup.entry_key(site.url(f"/story-{n}")) for n in (0, 1)]
        runtime.store.claim_entries(keys, ttl=600)
        before = time.time()
        result = poll.poll_source(runtime, "s")
        assert (result.new, result.busy) == (3, 2)
        state = runtime.store.source_state("s")
        assert state.etag is None and state.body_hash is None, "the feed must be read again"
        # ... as soon as this poll's own claims would have run out, not an interval later.
        assert state.next_due <= before + config.settings.poll_claim + config.settings.tick_every + 1
        # Once that claim is gone, the next poll takes the two entries it left.
        runtime.store.finish_entries(EntryOutcomes(failed=tuple(keys)))
        assert poll.poll_source(runtime, "s").new == 2
        assert len(ledger_alerts(runtime)) == 5
        assert "If-None-Match" not in site.requests[-1].headers
    finally:
        runtime.close()


def test_a_failed_entry_keeps_the_feed_unconditional_until_it_succeeds(tmp_path, site, monkeypatch):
    config = make_config(site, str(tmp_path / "state.db"))
    runtime = Runtime(config, DropJobs())
    real = poll.build_article

    def broken_on_story_3(rt, source, entry, page=None):
        if entry.url.endswith("story-3"):
            raise RuntimeError("page parser bug")
        return real(rt, source, entry, page)

    monkeypatch.setattr(poll, "build_article", broken_on_story_3)
    try:
        first = poll.poll_source(runtime, "s")
        assert (first.new, first.entry_errors) == (4, 1)
        second = poll.poll_source(runtime, "s")
        # The server would have answered 304 to the ETag; without it the entry is retried.
        assert "If-None-Match" not in site.requests[-1].headers
        assert second.entry_errors == 1 and second.new == 0
        monkeypatch.setattr(poll, "build_article", real)
        third = poll.poll_source(runtime, "s")
        assert (third.new, third.alerts, third.entry_errors) == (1, 1, 0)
        assert runtime.store.source_state("s").etag == '"v1"'
        assert len(ledger_alerts(runtime)) == 5
    finally:
        runtime.close()


def test_entries_a_failed_poll_never_reached_are_released_at_once(tmp_path, site, monkeypatch):
    """A poll that fails half way (here: the state file is locked for too long) leaves no
    claim on the entries it did not reach: the very next poll takes them."""
    config = make_config(site, str(tmp_path / "state.db"))
    runtime = Runtime(config, DropJobs())
    real = poll.process_entry
    calls = []

    def store_gone_on_the_third(rt, source, entry, page=None):
        calls.append(entry.url)
        if len(calls) == 3:
            # The store failing, not the entry: the whole poll fails.
            raise sqlite3.OperationalError("database is locked")
        return real(rt, source, entry, page)

    monkeypatch.setattr(poll, "process_entry", store_gone_on_the_third)
    try:
        first = poll.poll_source(runtime, "s")
        assert first.status == "error" and first.alerts == 2
        monkeypatch.setattr(poll, "process_entry", real)
        second = poll.poll_source(runtime, "s")
        assert (second.status, second.busy, second.new) == ("ok", 0, 3)
        assert len(ledger_alerts(runtime)) == 5
    finally:
        runtime.close()
