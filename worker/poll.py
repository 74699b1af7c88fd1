"""Polling one source: fetch it, claim its new entries, turn each into an article and
hand it to alerting; then record the poll, the source's health and its next due time.

Crash safety: see poll_source and claim_new_entries.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from . import dedup, metrics, pace
from .alerting import match_and_alert
from .health import track_health
from .logs import ms_since, summary
from .models import Article, FeedEntry, Source
from .runtime import Runtime
from .store import ENTRY_BUSY, ENTRY_NEW, EntryOutcomes

if TYPE_CHECKING:
    from .listing import Listing
    from .store import SourceState

log = logging.getLogger("newswatch.pipeline")


MAX_SOURCE_BACKOFF = 3600.0
# A poll that starts after its source's claim ran out (a long queue) still claims its
# entries this long, so that two copies of it rarely do the same work.
MIN_ENTRY_CLAIM = 1.0


@dataclass
class PollResult:
    source_id: str
    status: str  # ok | not_modified | error
    http: int | None = None
    entries: int = 0
    new: int = 0
    matched: int = 0
    alerts: int = 0
    entry_errors: int = 0
    busy: int = 0  # entries another poll was working on
    error: str | None = None


@dataclass
class PollWork:
    """What one poll found and did, handed from reading the source to recording the poll."""

    state: SourceState
    listing: Listing | None = None
    server_wait: float = 0.0  # what the server asked for: Cache-Control max-age or Retry-After
    claimed: list[tuple[FeedEntry, str]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # entry keys whose alerts are in the ledger
    failed: list[str] = field(default_factory=list)  # entry keys to retry on the next poll


def poll_source(rt: Runtime, source_id: str, claimed_at: float | None = None) -> PollResult:
    """Fetch one source, process its new entries, record health and the next due time.

    `claimed_at` is when the scheduler handed this poll out. When the queue is longer
    than the claim's hold, the scheduler hands the source out again; the copy that runs
    second finds the source polled after its claim and does nothing, so a backlog never
    multiplies itself. A claim made while a poll was running is as stale, so "after" is
    measured to the end of the last poll.
    """
    started = time.monotonic()
    now = time.time()
    try:
        source = rt.config.source(source_id)
    except StopIteration:
        # Removed from the config (or this process has not seen the edit yet): the tick
        # keeps the schedule in line with the config, so there is nothing to undo here.
        summary("poll_source", logging.WARNING, source=source_id, status="skipped",
                error="not in this worker's config")
        return PollResult(source_id, "skipped")
    state = rt.store.source_state(source_id)
    last_end = state.last_poll_end or state.last_poll
    if claimed_at is not None and last_end is not None and last_end >= claimed_at:
        return PollResult(source_id, "skipped")
    result = PollResult(source_id, "ok")
    claims_end = (claimed_at or now) + rt.config.settings.poll_claim
    work = read_and_process(rt, source, PollWork(state), result, claims_end)
    state, next_due = schedule_next(rt, source, work, result, now, claimed_at, claims_end)
    # The seen marks go with the poll's record, after every entry's alerts are in the
    # ledger: a poll that dies before this line leaves only claims, which run out, and
    # is run again (see claim_new_entries).
    entries = EntryOutcomes(tuple(work.done), tuple(work.failed), rt.config.settings.dedup_window)
    rt.store.record_poll(track_health(rt, source, state, now), {
        "polled": 1, "not_modified": int(result.status == "not_modified"),
        "failed": int(result.status == "error"), "entries": result.entries, "new": result.new,
        "matched": result.matched, "alerts": result.alerts,
    }, next_due, entries)
    metrics.observe_poll(result.status, time.monotonic() - started, result.new, result.matched,
                         result.alerts)
    summary(
        "poll_source", logging.WARNING if result.status == "error" else logging.INFO,
        source=source_id, status=result.status, http=result.http, entries=result.entries,
        new=result.new, matched=result.matched, alerts=result.alerts,
        entry_errors=result.entry_errors or None, busy=result.busy or None, error=result.error,
        ms=ms_since(started),
    )
    return result


def read_and_process(rt: Runtime, source: Source, work: PollWork, result: PollResult,
                     claims_end: float) -> PollWork:
    """List the source, claim its new entries and turn each into articles and alerts.
    Any failure is the poll's result, never an exception: one broken source never takes
    the worker down."""
    from .fetch import FetchError
    from .listing import list_entries
    from .sources import SourceError

    try:
        work.listing = listing = list_entries(rt.fetcher, source, work.state)
        work.state = listing.state
        result.http = listing.response.status
        work.server_wait = listing.server_wait
        if listing.response.not_modified or listing.unchanged:
            result.status = "not_modified"
        result.entries = len(listing.entries)
        work.claimed = claim_new_entries(rt, listing.entries, result, claims_end - time.time())
        process_claimed(rt, source, work.claimed, result, work.done, work.failed,
                        first_poll=work.state.last_poll is None)
    except FetchError as error:
        result.status, result.error, result.http = "error", error.reason, error.status
        work.server_wait = error.retry_after or 0.0
    except SourceError as error:
        result.status, result.error = "error", f"bad feed: {error}"
    except Exception as error:
        log.exception("poll of %s failed", source.id)
        result.status, result.error = "error", f"{type(error).__name__}: {error}"
    # Claimed entries the poll never reached (it failed on the way) are released, so the
    # next poll takes them at once instead of waiting for the claims to run out.
    finished = set(work.done) | set(work.failed)
    work.failed += [key for _, key in work.claimed if key not in finished]
    return work


def schedule_next(rt: Runtime, source: Source, work: PollWork, result: PollResult, now: float,
                  claimed_at: float | None, claims_end: float) -> tuple[SourceState, float]:
    """The source's new state and next due time: validators kept only when everything is
    handled, failures backed off, the pace and WebSub applied."""
    from .websub import polling_interval

    state = work.state
    if result.status == "error" or work.failed or result.busy:
        # Validators and the body hash say "everything up to this version is handled":
        # until it is, the next poll reads the feed in full and retries what is left.
        state = replace(state, etag=None, last_modified=None, body_hash=None)
    failures = state.failures + 1 if result.status == "error" else 0
    listed = work.listing.entries if work.listing is not None else []
    state, every = pace.after_poll(state, source, rt.config.settings, now,
                                   ok=result.status != "error", new=len(work.claimed) + result.busy,
                                   listed=[entry.published for entry in listed])
    every = polling_interval(rt, source, work.listing, every)  # WebSub: relaxed while a hub pushes
    next_due = next_due_at(claimed_at, now, next_poll_interval(every, failures, work.server_wait),
                           catch_up=rt.config.settings.tick_every)
    if result.busy:
        # Entries held by a poll that may have died (a prefork child killed, its message
        # requeued at once): come back when its claims have run out, not a whole interval on.
        next_due = min(next_due, max(claims_end, time.time()) + rt.config.settings.tick_every)
    state = replace(
        state, last_poll=now, last_poll_end=time.time(), last_status=result.status,
        last_error=result.error, http=result.http, failures=failures, next_due=next_due,
        entries=result.entries, new=result.new,
    )
    return state, next_due


def next_due_at(claimed_at: float | None, started: float, interval: float, catch_up: float) -> float:
    """The next poll's due time: one interval after the scheduler handed this poll out, so
    the moments it waited for a tick and for a free worker are not added to every cycle;
    but when it waited longer than `catch_up` (the workers are behind), one interval after
    it ran: an overloaded cluster must not be handed its polls closer together."""
    if claimed_at is None:
        return started + interval
    return max(claimed_at, started - catch_up) + interval


def next_poll_interval(every: float, failures: int, server_wait: float) -> float:
    """Seconds to the next poll: the source's interval, backed off exponentially after
    consecutive failures (capped), and never sooner than the server asked (max-age,
    Retry-After, capped at a day so a typo in a header cannot silence a source)."""
    interval = every
    if failures:
        interval = min(every * 2 ** min(failures - 1, 10), max(MAX_SOURCE_BACKOFF, every))
    return max(interval, min(server_wait, 86400.0))


def claim_new_entries(rt: Runtime, entries: list[FeedEntry], result: PollResult,
                      ttl: float) -> list[tuple[FeedEntry, str]]:
    """The entries no poll has finished or is working on, each with its key; one store
    round trip, which also claims them for this poll.

    Keys come from the URL's identity (dedup.entry_key), so the same article on several
    feeds (or with tracking parameters) is taken once, by whichever poll gets there first.
    The claims end when the source's own claim does (`poll_claim` after the scheduler
    handed the poll out): a poll run again because its worker died finds them free.
    """
    keyed: dict[str, FeedEntry] = {}
    for entry in entries:
        if entry.url:
            keyed.setdefault(dedup.entry_key(entry.url), entry)
    states = rt.store.claim_entries(list(keyed), max(ttl, MIN_ENTRY_CLAIM))
    result.busy = states.count(ENTRY_BUSY)
    return [(entry, key) for (key, entry), state in zip(keyed.items(), states, strict=True)
            if state == ENTRY_NEW]


def process_claimed(rt: Runtime, source: Source, claimed: list[tuple[FeedEntry, str]],
                    result: PollResult, done: list[str], failed: list[str],
                    first_poll: bool = False) -> None:
    """Turn claimed entries into articles and alerts (their pages fetched a few ahead, their
    history written in one batch), adding each key to `done` or `failed` as it goes, so a
    caller that sees this raise half way knows which claims to release. Polls and WebSub
    pushes (worker/websub/push.py) both come through here."""
    wanted = pages_to_fetch(rt, source, [entry for entry, _ in claimed], first_poll)
    with PageFetches(rt, source, wanted) as pages, rt.history.batch():
        for entry, key in claimed:
            page = pages.result(entry.url)
            (done if _process_counted(rt, source, entry, page, result) else failed).append(key)


def pages_to_fetch(rt: Runtime, source: Source, entries: list[FeedEntry], first_poll: bool) -> list[str]:
    """The entries whose article page this poll fetches: every new one of a `full_text`
    source, except on its first poll, when the backlog a feed carries (often 50 entries,
    days of them) would flood the site and the worker: then only the newest
    `backlog_pages` published within `backlog_window` (an undated entry counts as new);
    the rest are matched on the feed's own text."""
    if not source.full_text:
        return []
    if not first_poll:
        return [entry.url for entry in entries]
    settings = rt.config.settings
    oldest = time.time() - settings.backlog_window
    recent = [entry for entry in entries
              if entry.published is None or entry.published.timestamp() >= oldest]
    # Newest first; undated entries keep the feed's own order (newest first in practice).
    recent.sort(key=lambda entry: -entry.published.timestamp() if entry.published else 0.0)
    return [entry.url for entry in recent[:max(0, settings.backlog_pages)]]


class PageFetches:
    """A poll's article pages, fetched a few at a time ahead of the entry being processed:
    a poll waits on its slowest page rather than on the sum of them. The per-host limits
    still hold (the fetcher applies them); pages the poll will not use are not fetched."""

    def __init__(self, rt: Runtime, source: Source, urls: list[str]) -> None:
        self.rt, self.source = rt, source
        self.width = max(1, rt.config.settings.page_fetch_concurrency)
        self.waiting = list(dict.fromkeys(urls))  # in the order the poll will want them
        self.futures: dict[str, Future[Article | None]] = {}
        self._top_up()

    def _top_up(self) -> None:
        while self.waiting and len(self.futures) < self.width:
            url = self.waiting.pop(0)
            self.futures[url] = _page_pool().submit(fetch_page, self.rt, self.source, url)

    def result(self, url: str) -> Article | None:
        """The page of `url` (None: not wanted, or fetching it failed and was logged)."""
        future = self.futures.pop(url, None)
        if future is None:
            if url not in self.waiting:
                return None
            self.waiting.remove(url)  # asked out of order: fetch it now
            return fetch_page(self.rt, self.source, url)
        self._top_up()
        return future.result()

    def __enter__(self) -> PageFetches:
        return self

    def __exit__(self, *_: object) -> None:
        # A poll that failed half way does not start pages it will not use, and those
        # already running end on their own (the fetch timeout bounds them).
        self.waiting.clear()
        for future in self.futures.values():
            future.cancel()


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _page_pool() -> ThreadPoolExecutor:
    """One pool per process, made on first use (after a prefork worker forked: threads do
    not survive a fork). Its threads start as polls need them and are reused after."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = ThreadPoolExecutor(64, thread_name_prefix="page"), os.getpid()
        return _pool


def _process_counted(rt: Runtime, source: Source, entry: FeedEntry, page: Article | None,
                     result: PollResult) -> bool:
    """Process one entry; a failing item is logged and retried next poll, never the others."""
    try:
        outcome = process_entry(rt, source, entry, page)
    except Exception as error:
        if isinstance(error, rt.store.unavailable):
            raise  # the store is down: the whole poll failed, not this item
        log.exception("entry %s of %s failed", entry.url, source.id)
        summary("process_entry", logging.WARNING, source=source.id, url=entry.url,
                status="error", error=f"{type(error).__name__}: {error}")
        result.entry_errors += 1
        return False
    result.new += outcome.new
    result.matched += outcome.matched
    result.alerts += outcome.alerts
    return True


# ------------------------------------------------------------------------------ entry


@dataclass
class EntryOutcome:
    new: int = 0
    matched: int = 0
    alerts: int = 0


def process_entry(rt: Runtime, source: Source, entry: FeedEntry,
                  page: Article | None = None) -> EntryOutcome:
    """Turn one new entry (and its parsed page, when one was fetched) into an article,
    match topics, create alerts.

    Safe to run again on the same entry (a poll rerun after a crash): every alert it
    creates is keyed on (article, topic, channel) and the ledger creates each once.
    """
    article = build_article(rt, source, entry, page)
    return EntryOutcome(new=1, **match_and_alert(rt, article))


def build_article(rt: Runtime, source: Source, entry: FeedEntry, page: Article | None = None) -> Article:
    """The entry normalised by the shared parser; the page, when there is one, wins for the body."""
    from .parser import parse_entry

    return parse_entry(entry, source, page)


def fetch_page(rt: Runtime, source: Source, url: str) -> Article | None:
    """Fetch and parse one entry's article page; None when robots.txt disallows it or it
    failed (logged): the entry is then matched on the feed's own text."""
    from .fetch import FetchError
    from .parser import ParseError, parse_html

    try:
        if not rt.fetcher.allowed_by_robots(url):
            log.info("robots.txt disallows %s; using the feed entry only", url)
            return None
        response = rt.fetcher.get(url, accept="text/html,application/xhtml+xml")
        return parse_html(response.body, response.url, content_type=response.content_type)
    except (FetchError, ParseError) as error:
        reason = getattr(error, "reason", None) or str(error)
        summary("fetch_page", logging.WARNING, source=source.id, url=url, status="error", error=reason)
        return None
