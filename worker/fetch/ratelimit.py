"""Per-host politeness: a minimum interval between request starts and a concurrency cap.

``HostLimiter`` is the seam: the in-process limiter below serves one worker;
a Redis-backed one (shared by every worker) can implement the same two calls.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis


class HostLimiter(Protocol):
    def acquire(self, host: str, timeout: float | None = None) -> bool:
        """Wait for a slot on ``host``; False when ``timeout`` seconds passed first."""
        ...

    def release(self, host: str) -> None:
        """Give back the slot taken by a successful ``acquire``."""
        ...


class NoLimit:
    """A limiter that never waits (benchmarks, tests against a local server)."""

    def acquire(self, host: str, timeout: float | None = None) -> bool:
        return True

    def release(self, host: str) -> None:
        return None


@dataclass
class _HostState:
    active: int = 0
    next_start: float = 0.0
    waiters: int = 0


class InProcessHostLimiter:
    """Threads of one process share it; waits are bounded by the caller's timeout."""

    def __init__(self, min_interval: float = 1.0, max_concurrent: int = 2) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.min_interval = min_interval
        self.max_concurrent = max_concurrent
        self._cond = threading.Condition()
        self._hosts: dict[str, _HostState] = {}

    def acquire(self, host: str, timeout: float | None = None) -> bool:
        host = host.lower()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if host not in self._hosts and len(self._hosts) >= 4096:
                self._purge_idle()
            state = self._hosts.setdefault(host, _HostState())
            state.waiters += 1
            try:
                while True:
                    now = time.monotonic()
                    if state.active < self.max_concurrent and now >= state.next_start:
                        state.active += 1
                        state.next_start = now + self.min_interval
                        return True
                    wait = state.next_start - now if state.active < self.max_concurrent else None
                    if deadline is not None:
                        left = deadline - now
                        if left <= 0:
                            return False
                        wait = left if wait is None else min(wait, left)
                    self._cond.wait(wait)
            finally:
                state.waiters -= 1

    def _purge_idle(self) -> None:
        now = time.monotonic()
        for name, state in list(self._hosts.items()):
            if state.active == 0 and state.waiters == 0 and state.next_start <= now:
                del self._hosts[name]

    def release(self, host: str) -> None:
        host = host.lower()
        with self._cond:
            state = self._hosts.get(host)
            if state is None:
                return
            state.active = max(0, state.active - 1)
            # Forget idle hosts so 10,000 sources do not keep 10,000 entries forever.
            if state.active == 0 and state.waiters == 0 and state.next_start <= time.monotonic():
                del self._hosts[host]
            self._cond.notify_all()


# KEYS: the host's slot set; ARGV: now (s), interval, max concurrent, lease, token.
# Returns 0 when the slot is taken, else how many seconds to wait before asking again.
_ACQUIRE = """
local slots, next_key = KEYS[1], KEYS[1] .. ':next'
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
if redis.call('ZCARD', slots) >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', slots, 0, 0, 'WITHSCORES')
  return tostring(math.min(0.05, math.max(0.005, tonumber(first[2]) - now)))
end
local next_start = tonumber(redis.call('GET', next_key) or '0')
if now < next_start then return tostring(next_start - now) end
redis.call('ZADD', slots, now + tonumber(ARGV[4]), ARGV[5])
redis.call('SET', next_key, tostring(now + interval), 'PX', math.ceil((interval + 1) * 1000))
redis.call('EXPIRE', slots, math.ceil(tonumber(ARGV[4])) + 1)
return 0
"""


class RedisHostLimiter:
    """The same politeness, held in Redis so it holds across every worker and machine.

    A slot is a member of a sorted set scored by its lease end, so a worker that dies
    holding one frees it when the lease runs out instead of blocking the host forever.
    """

    def __init__(self, client: redis.Redis, min_interval: float = 1.0, max_concurrent: int = 2,
                 lease: float = 120.0, prefix: str = "newswatch:host:") -> None:
        self.client = client
        self.min_interval = min_interval
        self.max_concurrent = max_concurrent
        self.lease = lease
        self.prefix = prefix
        self._script = client.register_script(_ACQUIRE)
        self._held = threading.local()  # host -> token of this thread's slot

    def acquire(self, host: str, timeout: float | None = None) -> bool:
        import uuid

        host = host.lower()
        token = uuid.uuid4().hex
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Redis's clock, not ours: workers on several machines must agree on "now".
            seconds, micros = self.client.time()
            now = seconds + micros / 1e6
            wait = float(self._script(keys=[self.prefix + host],
                                      args=[now, self.min_interval, self.max_concurrent,
                                            self.lease, token]))
            if wait == 0:
                held = getattr(self._held, "tokens", None)
                if held is None:
                    held = self._held.tokens = {}
                held[host] = token
                return True
            if deadline is not None and time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)

    def release(self, host: str) -> None:
        host = host.lower()
        token = getattr(self._held, "tokens", {}).pop(host, None)
        if token is not None:
            self.client.zrem(self.prefix + host, token)
