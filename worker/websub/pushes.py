"""Where the web service hands a verified push: the same dispatch as every other job.

Distributed mode (`redis_url`): the push goes to the Celery workers as a `websub_push`
task on the `fetch` queue, like a poll; the web process answers the hub at once and
never fetches or parses. Embedded mode has no broker and `newswatch run` is another
process, so the web process runs the job itself on an embedded dispatcher (two
threads), started at the first push; the SQLite store's claims, seen marks and ledger
are shared with `run` across processes, so nothing is processed or delivered twice.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from ..models import Config

log = logging.getLogger("newswatch.websub")


class CeleryHandOff:
    """Sends jobs to the workers by task name: no task module (and no config) imported."""

    def __init__(self, broker: str) -> None:
        from celery import Celery

        from ..queues import DEFAULT_QUEUE, ROUTES

        self.app = Celery("newswatch-web", broker=broker, set_as_current=False)
        self.app.conf.update(task_default_queue=DEFAULT_QUEUE, task_routes=ROUTES,
                             broker_connection_retry_on_startup=True)

    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        self.app.send_task(f"newswatch.{job}", args=args, countdown=countdown or None)

    def close(self) -> None:
        self.app.close()


class LocalRunner:
    """An embedded dispatcher with its loop on a daemon thread (embedded mode)."""

    def __init__(self, config: Config, config_path: str | None) -> None:
        from ..embedded import EmbeddedDispatcher
        from ..runtime import Runtime

        self.dispatcher = EmbeddedDispatcher(threads=2)
        # Read afresh: the files may have changed since the web service started.
        self.runtime = (Runtime.load(config_path, self.dispatcher) if config_path
                        else Runtime(config, self.dispatcher))
        self.dispatcher.runtime = self.runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="websub-push", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.runtime.reload_if_changed()
                self.dispatcher.run_due()
            except Exception:
                log.exception("websub push runner")
            until = self.dispatcher.next_due_in()
            self.dispatcher.wait(1.0 if until is None else min(max(until, 0.0), 1.0))

    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        self.dispatcher.enqueue(job, *args, countdown=countdown)

    def close(self) -> None:
        self._stop.set()
        self.dispatcher.wake()  # the loop looks at the flag as soon as its wait ends
        self._thread.join(timeout=5)
        self.dispatcher.shutdown()
        self.runtime.close()


class PushHandOff:
    """The web service's `enqueue` for verified pushes; the dispatcher is made at first use."""

    def __init__(self, config: Config, config_path: str | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self._target: Any = None
        self._lock = threading.Lock()

    def push(self, source_id: str, body_b64: str, content_type: str | None, topic: str) -> None:
        with self._lock:
            if self._target is None:
                settings = self.config.settings
                # The broker can be another server (RabbitMQ), as in worker/app.py.
                self._target = (
                    CeleryHandOff(os.environ.get("NEWSWATCH_BROKER_URL") or settings.redis_url)
                    if settings.redis_url else LocalRunner(self.config, self.config_path))
        self._target.enqueue("websub_push", source_id, body_b64, content_type, topic)

    def close(self) -> None:
        with self._lock:
            target, self._target = self._target, None
        if target is not None:
            target.close()
