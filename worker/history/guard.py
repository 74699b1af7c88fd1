"""The history handle the pipeline holds: recording never stops polling or alerting.

An unreachable or failing history store logs one warning (not one per article),
the articles of the outage are not kept, and the store is tried again after a pause
so that every poll does not wait on a connect timeout. Expiry runs from the tick in
bounded batches.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from ..models import Article, Match
from .base import AlertRef, History, HistoryItem

log = logging.getLogger("newswatch.history")

RETRY_AFTER = 30.0  # seconds between attempts to reach a failing history store
EXPIRE_BATCH = 1000  # articles deleted per tick at most
EXPIRE_EVERY = 60.0  # seconds between expiry rounds once history is trimmed


class HistoryRecorder:
    """Wraps a History opened lazily by `opener`; every method swallows its failures."""

    def __init__(self, opener: Callable[[], History], keep: float, what: str) -> None:
        self._opener = opener
        self.keep = keep  # seconds of history
        self.what = what  # for log lines: "SQLite state file", "PostgreSQL"
        self._history: History | None = None
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self._next_expiry = 0.0
        self._batch = threading.local()  # this thread's open batch, see batch()

    @property
    def enabled(self) -> bool:
        return self.keep > 0

    def _get(self) -> History | None:
        if self._history is not None:
            return self._history
        with self._lock:
            if self._history is None and time.monotonic() >= self._retry_at:
                try:
                    self._history = self._opener()
                except Exception as error:  # noqa: BLE001 - any failure to open is an outage
                    self._failed(error)
            return self._history

    def _failed(self, error: Exception) -> None:
        self._retry_at = time.monotonic() + RETRY_AFTER
        if self._failing_since is None:
            self._failing_since = time.time()
            log.warning("history store (%s) unavailable, articles are not kept until it is "
                        "back (retrying every %ds): %s", self.what, RETRY_AFTER,
                        " ".join(str(error).split()) or type(error).__name__)

    def _recovered(self) -> None:
        if self._failing_since is not None:
            log.warning("history store (%s) is back after %ds", self.what,
                        int(time.time() - self._failing_since))
            self._failing_since = None

    def _drop(self, error: Exception) -> None:
        with self._lock:
            history, self._history = self._history, None
            self._failed(error)
        if history is not None:
            with contextlib.suppress(Exception):  # it is broken already
                history.close()

    def record(self, article: Article, matches: Sequence[Match], alerts: Sequence[AlertRef],
               at: float | None = None, words: Sequence[str] | None = None) -> bool:
        """Keep one parsed article; False when history is off or unavailable. Inside
        `batch()` the article is kept when the batch ends (True: it was taken)."""
        if not self.enabled:
            return False
        item = HistoryItem(article, matches, alerts, time.time() if at is None else at, words)
        pending = getattr(self._batch, "items", None)
        if pending is not None:
            pending.append(item)
            return True
        return self._write([item])

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Articles recorded by this thread inside the block are written together at its
        end, in one transaction: a poll's 50 new entries cost one commit, not 50. A
        process that dies inside loses them, with the poll's seen marks (written after),
        so the poll's rerun records them again."""
        if not self.enabled or getattr(self._batch, "items", None) is not None:
            yield  # off, or already inside a batch
            return
        self._batch.items = []
        try:
            yield
        finally:
            items, self._batch.items = self._batch.items, None
            if items:
                self._write(items)

    def _write(self, items: list[HistoryItem]) -> bool:
        history = self._get()
        if history is None:
            return False
        try:
            history.record_many(items)
        except Exception as error:  # noqa: BLE001 - never let history stop a poll
            self._drop(error)
            return False
        self._recovered()
        return True

    def expire(self, now: float | None = None) -> int:
        """One bounded batch of expired articles, at most every EXPIRE_EVERY seconds
        unless the last batch was full (a backlog is worked off tick by tick)."""
        if not self.enabled or time.monotonic() < self._next_expiry:
            return 0
        history = self._get()
        if history is None:
            return 0
        now = time.time() if now is None else now
        try:
            deleted = history.expire(now - self.keep, EXPIRE_BATCH)
        except Exception as error:  # noqa: BLE001
            self._drop(error)
            return 0
        self._recovered()
        if deleted < EXPIRE_BATCH:
            self._next_expiry = time.monotonic() + EXPIRE_EVERY
        if deleted:
            log.info("history: %d articles older than %gd deleted", deleted, self.keep / 86400)
        return deleted

    def close(self) -> None:
        with self._lock:
            if self._history is not None:
                self._history.close()
                self._history = None
