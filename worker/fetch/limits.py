"""Caps on what one response may cost: wall-clock time, raw and decoded bytes.

A socket timeout alone does not bound a request: a server that sends one byte
per second never lets a single ``recv`` time out. The ``Watchdog`` shuts the
socket down when a request's deadline passes, whatever the request is blocked
on (status line, headers or body), and the reader checks the deadline between
chunks.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
import zlib
from typing import Any

from ..errors import NewswatchError


class LimitExceeded(NewswatchError):
    """A cap was hit; ``reason`` is the FetchError reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Watch:
    """One request's deadline, and the connections it is using."""

    __slots__ = ("_conns", "deadline", "done", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.done = False
        self._conns: list[Any] = []

    def attach(self, conn: Any) -> None:
        # The connection goes back to a shared pool after this request; marking
        # the owner lets a late fire() skip a connection another request now uses.
        conn._newswatch_watch = self
        self._conns.append(conn)
        if self.expired:
            self.fire()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def paused(self) -> _Pause:
        """Stop the clock while the request queues for its host's politeness limit:
        that wait is ours, not the server's, and must not eat its time budget."""
        return _Pause(self)

    def fire(self) -> None:
        if self.done:
            return
        self.expired = True
        for conn in list(self._conns):
            if getattr(conn, "_newswatch_watch", None) is not self:
                continue
            sock = getattr(conn, "sock", None)
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv


class _Pause:
    PARKED = 10**6  # far away but finite: the watchdog waits on it with a timeout

    def __init__(self, watch: Watch) -> None:
        self.watch = watch

    def __enter__(self) -> None:
        self.remaining = self.watch.remaining()
        self.watch.deadline = time.monotonic() + self.PARKED

    def __exit__(self, *exc: object) -> None:
        self.watch.deadline = time.monotonic() + self.remaining
        WATCHDOG.reschedule(self.watch)


class Watchdog:
    """One daemon thread for every deadline of the process (cheaper than a timer each)."""

    _REFIRE = 0.2  # a connection may only get its socket after the deadline fired

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, timeout: float) -> Watch:
        item = Watch(time.monotonic() + timeout)
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="fetch-watchdog", daemon=True
                )
                self._thread.start()
            first = not self._heap or item.deadline < self._heap[0][0]
            heapq.heappush(self._heap, (item.deadline, next(self._seq), item))
            if first:
                self._cond.notify()
        return item

    def reschedule(self, item: Watch) -> None:
        """Queue an item again after its deadline moved closer (the old entry goes stale)."""
        with self._cond:
            heapq.heappush(self._heap, (item.deadline, next(self._seq), item))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                when, _, item = self._heap[0]
                if item.done:
                    heapq.heappop(self._heap)
                    continue
                delay = when - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                if item.deadline > when and not item.expired:  # moved since it was queued
                    heapq.heappush(self._heap, (item.deadline, next(self._seq), item))
                    continue
                heapq.heappush(self._heap, (when + self._REFIRE, next(self._seq), item))
            item.fire()


    def _after_fork(self) -> None:
        # A forked child (Celery prefork) has no watchdog thread, and the lock may
        # have been held by it at fork time: start clean.
        self._cond = threading.Condition()
        self._heap = []
        self._thread = None


WATCHDOG = Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WATCHDOG._after_fork)


class BodyDecoder:
    """Decode a Content-Encoding incrementally, never producing more than ``limit`` bytes.

    ``max_length`` keeps zlib from inflating a whole chunk at once, so a gzip
    bomb costs at most ``limit`` bytes of memory before it is cut off.
    """

    def __init__(self, encoding: str, limit: int, truncate: bool = False) -> None:
        self.limit = limit
        self.truncate = truncate
        self.total = 0
        self.full = False  # truncated at the limit
        self._parts: list[bytes] = []
        self._encoding = encoding
        self._zlib: Any = self._new_decompressor()

    def _new_decompressor(self) -> Any:
        if self._encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._encoding == "deflate":
            return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped; raw handled below
        return None

    def feed(self, chunk: bytes) -> None:
        if self.full:
            return
        if self._zlib is None:
            self._keep(chunk, "body")
            return
        data = chunk
        while data and not self.full:
            try:
                out = self._zlib.decompress(data, self.limit - self.total + 1)
            except zlib.error as exc:
                if self._encoding == "deflate" and self.total == 0 and data is chunk:
                    # Some servers send raw deflate without the zlib header.
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._encoding = "raw-deflate"
                    continue
                raise LimitExceeded(f"bad {self._encoding} data") from exc
            self._keep(out, "decompressed body")
            if self._zlib.unconsumed_tail:
                data = self._zlib.unconsumed_tail
            elif self._zlib.eof and self._zlib.unused_data.strip(b"\0"):
                data = self._zlib.unused_data  # next gzip member
                self._zlib = self._new_decompressor()
            else:
                data = b""

    def _keep(self, data: bytes, what: str) -> None:
        if not data:
            return
        if self.total + len(data) > self.limit:
            if not self.truncate:
                raise LimitExceeded(f"{what} over {self.limit} bytes")
            data = data[: self.limit - self.total]
            self.full = True
        self.total += len(data)
        self._parts.append(data)

    def finish(self) -> bytes:
        if self._zlib is not None and not self.full:
            self._keep(self._zlib.flush(), "decompressed body")
        return b"".join(self._parts)
