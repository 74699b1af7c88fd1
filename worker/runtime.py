"""Everything a stage needs, built once per process from the config.

The pipeline never imports Celery: it asks a `Dispatcher` to run the next step,
and the dispatcher is either Celery (distributed) or the embedded scheduler.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .config import ConfigError, load_config, secrets_of
from .config import config_path as config_file_path
from .logs import register_secrets
from .models import Config
from .store import Store, open_store

if TYPE_CHECKING:
    from .alerts.base import Sender
    from .fetch import Fetcher
    from .history import HistoryRecorder
    from .topics import TopicIndex


log = logging.getLogger("newswatch.runtime")


def _stamp(path: str | None) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of the config files: changes when any file is edited."""
    if path is None:
        return ()
    root = Path(path)
    files = sorted(root.glob("*.y*ml")) if root.is_dir() else [root]
    stamp = []
    for file in files:
        try:
            info = file.stat()
        except OSError:
            continue
        stamp.append((str(file), info.st_size, info.st_mtime_ns))
    return tuple(stamp)


class Dispatcher(Protocol):
    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        """Run pipeline job `job` (poll_source, deliver, send_digest…) with `args` later."""


class Runtime:
    def __init__(self, config: Config, dispatcher: Dispatcher, store: Store | None = None,
                 config_path: str | None = None) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.store = store or open_store(config.settings)
        self.config_path = config_path
        self._config_stamp = _stamp(config_path)
        self._checked_at = time.monotonic()
        self._senders: dict[str, Sender] = {}
        self._lock = threading.Lock()
        register_secrets(secrets_of(config))

    @classmethod
    def load(cls, config_path: str | None, dispatcher: Dispatcher) -> Runtime:
        path = str(config_file_path(config_path))
        return cls(load_config(path), dispatcher, config_path=path)

    def reload_if_changed(self, every: float = 5.0) -> bool:
        """Pick up edited config files without a restart (checked at most every `every` s).

        An invalid edit is logged and ignored: the running config stays in force.
        The store and broker are not swapped; changing redis_url needs a restart.
        """
        if self.config_path is None or time.monotonic() - self._checked_at < every:
            return False
        self._checked_at = time.monotonic()
        stamp = _stamp(self.config_path)
        if stamp == self._config_stamp:
            return False
        self._config_stamp = stamp
        try:
            config = load_config(self.config_path)
        except ConfigError as error:
            log.error("config change ignored, it is invalid:\n%s", error)
            return False
        stale_fetcher = stale_history = None
        with self._lock:
            if config.settings != self.config.settings:
                # Caps, timeouts and per-host limits live in the fetcher: build it anew.
                stale_fetcher = self.__dict__.pop("fetcher", None)
                stale_history = self.__dict__.pop("history", None)  # `history:` may have changed
            self.config = config
            self._senders.clear()
            self.__dict__.pop("topic_index", None)
        if stale_fetcher is not None:
            stale_fetcher.close()
        if stale_history is not None:
            stale_history.close()
        register_secrets(secrets_of(config))
        log.info("config reloaded: %d sources, %d topics, %d channels",
                 len(config.sources), len(config.topics), len(config.channels))
        return True

    @cached_property
    def fetcher(self) -> Fetcher:
        from .fetch import Fetcher, RedisHostLimiter

        settings = self.config.settings
        if not settings.redis_url:
            # Per-host limits held in this process; robots.txt shared through the SQLite store.
            return Fetcher(settings, shared_robots=self.store)
        # Shared by every worker: politeness towards a site holds cluster-wide.
        import redis

        # A slot's lease outlasts the longest fetch (the watchdog ends it at fetch_timeout),
        # and no more: a worker killed mid-fetch blocks the site only that long.
        limiter = RedisHostLimiter(redis.Redis.from_url(settings.redis_url),
                                   settings.per_host_interval, settings.per_host_concurrency,
                                   lease=settings.fetch_timeout + 10.0)
        # One robots.txt fetch per site for the whole cluster, kept in the store.
        return Fetcher(settings, limiter=limiter, shared_robots=self.store)

    @cached_property
    def topic_index(self) -> TopicIndex:
        from .topics import compile_topics

        return compile_topics(self.config.topics)

    @cached_property
    def history(self) -> HistoryRecorder:
        """Where every parsed article is kept (guarded: an outage never stops a poll)."""
        from .history import recorder_for

        return recorder_for(self.config.settings)

    def sender(self, channel_id: str) -> Sender:
        with self._lock:
            if channel_id not in self._senders:
                from .alerts.base import build_sender

                self._senders[channel_id] = build_sender(self.config.channel(channel_id))
            return self._senders[channel_id]

    def close(self) -> None:
        if "fetcher" in self.__dict__:
            self.fetcher.close()
        if "history" in self.__dict__:
            self.history.close()
        self.store.close()
