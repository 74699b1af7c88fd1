"""Everything a stage needs, built once per process from the config.

The pipeline never imports Celery: it asks a `Dispatcher` to run the next step,
and the dispatcher is either Celery (distributed) or the embedded scheduler.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from .config import load_config, secrets_of
from .logs import register_secrets
from .models import Config
from .store import Store, open_store

if TYPE_CHECKING:
    from .alerts.base import Sender
    from .fetch import Fetcher
    from .topics import TopicIndex


class Dispatcher(Protocol):
    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        """Run pipeline job `job` (poll_source, deliver, send_digest…) with `args` later."""


class Runtime:
    def __init__(self, config: Config, dispatcher: Dispatcher, store: Store | None = None) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.store = store or open_store(config.settings)
        self._senders: dict[str, Sender] = {}
        self._lock = threading.Lock()
        register_secrets(secrets_of(config))

    @classmethod
    def load(cls, config_path: str | None, dispatcher: Dispatcher) -> Runtime:
        return cls(load_config(config_path), dispatcher)

    @cached_property
    def fetcher(self) -> Fetcher:
        from .fetch import Fetcher, InProcessHostLimiter

        settings = self.config.settings
        limiter = InProcessHostLimiter(min_interval=settings.per_host_interval,
                                       max_concurrent=settings.per_host_concurrency)
        return Fetcher(settings, limiter=limiter)

    @cached_property
    def topic_index(self) -> TopicIndex:
        from .topics import compile_topics

        return compile_topics(self.config.topics)

    def sender(self, channel_id: str) -> Sender:
        with self._lock:
            if channel_id not in self._senders:
                from .alerts.base import build_sender

                self._senders[channel_id] = build_sender(self.config.channel(channel_id))
            return self._senders[channel_id]

    def close(self) -> None:
        if "fetcher" in self.__dict__:
            self.fetcher.close()
        self.store.close()
