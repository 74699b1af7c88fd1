"""The embedded scheduler: the same jobs as the Celery tasks, in one process.

A small timer queue plus a thread pool stand in for broker and workers, so
`newswatch run` needs no services and `newswatch once` can run one cycle from cron.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from . import pipeline
from .logs import summary
from .poll import PollResult
from .progress import Progress
from .runtime import Runtime
from .schedule import CYCLE_FIELDS, tick
from .store import FAILED, PENDING, SENT

log = logging.getLogger("newswatch.embedded")


class EmbeddedDispatcher:
    """Keeps jobs in a heap ordered by due time; `run_due` hands them to a thread pool."""

    def __init__(self, threads: int = 8) -> None:
        self.stats = CycleStats()
        self._heap: list[tuple[float, int, str, tuple[object, ...]]] = []
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="newswatch")
        self._running: set[Future[object]] = set()
        self.runtime: Runtime | None = None

    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        with self._lock:
            heapq.heappush(self._heap, (time.time() + countdown, next(self._counter), job, args))
        self._wake.set()

    def _pop_due(self, now: float) -> list[tuple[str, tuple[object, ...]]]:
        with self._lock:
            due = []
            while self._heap and self._heap[0][0] <= now:
                _, _, job, args = heapq.heappop(self._heap)
                due.append((job, args))
            return due

    def run_due(self) -> int:
        """Start every job that is due; returns how many were started."""
        due = self._pop_due(time.time())
        for job, args in due:
            future = self._pool.submit(self._run, job, args)
            with self._lock:
                self._running.add(future)
            future.add_done_callback(self._done)
        return len(due)

    def _done(self, future: Future[object]) -> None:
        with self._lock:
            self._running.discard(future)
        self._wake.set()

    def _run(self, job: str, args: tuple[object, ...]) -> object:
        assert self.runtime is not None
        try:
            result = pipeline.JOBS[job](self.runtime, *args)
        except Exception:  # a job's failure is logged; the scheduler keeps going
            log.exception("job %s%r failed", job, args)
            result = None
        self.stats.record(job, result)
        return result

    def busy(self) -> bool:
        with self._lock:
            return bool(self._running) or bool(self._heap and self._heap[0][0] <= time.time())

    def next_due_in(self) -> float | None:
        with self._lock:
            return self._heap[0][0] - time.time() if self._heap else None

    def wait(self, timeout: float) -> None:
        self._wake.wait(max(0.0, timeout))
        self._wake.clear()

    def wake(self) -> None:
        """End a `wait` now (a loop that is being stopped)."""
        self._wake.set()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class CycleStats:
    """What a cycle did, for the per-cycle log line and the terminal summary."""

    FIELDS = CYCLE_FIELDS

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = dict.fromkeys(self.FIELDS, 0)
        self.failures: list[tuple[str, str]] = []
        self.started = time.monotonic()

    def record(self, job: str, result: object) -> None:
        with self._lock:
            counts = self.counts
            if (job == "poll_source" and isinstance(result, PollResult)
                    and result.status != "skipped"):
                counts["polled"] += 1
                counts["not_modified"] += result.status == "not_modified"
                if result.status == "error":
                    counts["failed"] += 1
                    self.failures.append((result.source_id, result.error or "error"))
                for key in ("entries", "new", "matched", "alerts"):
                    counts[key] += getattr(result, key)
            elif job == "deliver":
                counts["sent"] += result == SENT
                counts["retrying"] += result == PENDING
                counts["undeliverable"] += result == FAILED

    def log_line(self, due: int | None = None) -> None:
        with self._lock:
            fields: dict[str, Any] = {"due": due, **self.counts,
                      "ms": int((time.monotonic() - self.started) * 1000)}
        summary("cycle", status="ok", **fields)


def run_once(rt: Runtime, dispatcher: EmbeddedDispatcher, progress: Progress | None = None) -> None:
    """One full cycle: poll every source now, process, deliver; retries wait for the next run."""
    now = time.time()
    for source in rt.config.sources:
        rt.store.schedule(source.id, now)
    # `once` prints its own cycle line for exactly this run; the shared counters are
    # for the continuous modes, so this run's counts are taken out of them at the end.
    tick(rt, now, cycle_line=False)
    # Alerts held back to group republished stories are part of this cycle; later
    # retries are not: the ledger keeps them pending for the next run (or `run`).
    hold = rt.config.settings.near_duplicate_hold
    while True:
        dispatcher.run_due()
        if progress:
            progress.update(dispatcher.stats.counts, len(rt.config.sources))
        if not dispatcher.busy():
            # Holds start when a poll creates the alert, so the horizon moves with the work.
            horizon = (hold + 1.0) if hold else 0.0
            until_next = dispatcher.next_due_in()
            if until_next is None or until_next > horizon or time.time() - now > hold + 600:
                break
        dispatcher.wait(0.2)
    rt.store.take_counts()
    dispatcher.stats.log_line(due=len(rt.config.sources))
    if progress:
        progress.finish(dispatcher.stats)


def run_forever(rt: Runtime, dispatcher: EmbeddedDispatcher, stop: threading.Event) -> None:
    """The embedded scheduler: tick every `tick_every` seconds, run what is due."""
    tick_every = rt.config.settings.tick_every
    next_tick = 0.0
    while not stop.is_set():
        now = time.time()
        if now >= next_tick:
            try:
                tick(rt, now)
            except Exception:  # e.g. the state file is locked for a moment
                log.exception("tick failed")
            next_tick = now + tick_every
        dispatcher.run_due()
        until_job = dispatcher.next_due_in()
        timeout = next_tick - time.time()
        if until_job is not None:
            timeout = min(timeout, until_job)
        if stop.wait(0) or timeout <= 0:
            continue
        dispatcher.wait(min(timeout, 1.0))
