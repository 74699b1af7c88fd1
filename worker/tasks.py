"""Thin Celery tasks: each loads the process's Runtime and calls one pipeline job."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Task
from celery.signals import after_setup_logger, worker_init, worker_process_init, worker_process_shutdown

from . import metrics
from .app import app
from .delivery import deliver as deliver_alert
from .digest import send_digest as send_channel_digest
from .lease import was_redelivered
from .logs import install_redaction, setup_logging
from .poll import poll_source as poll_one_source
from .runtime import Runtime
from .schedule import tick as run_tick
from .websub import receive_push, sync_subscription

_runtime: Runtime | None = None
_lock = threading.Lock()


class CeleryDispatcher:
    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        task = app.tasks[f"newswatch.{job}"]
        if countdown:
            task.apply_async(args=args, countdown=countdown)
        else:
            task.apply_async(args=args)


def runtime() -> Runtime:
    """One Runtime per worker process, built after fork (sockets are not shared).

    Every task checks for config edits (a stat at most every few seconds): each worker
    process holds its own copy, and one that kept the old config would not know a
    source the scheduler has just started handing out.
    """
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime.load(os.environ.get("NEWSWATCH_CONFIG"), CeleryDispatcher())
    _runtime.reload_if_changed()
    return _runtime


@worker_process_init.connect
def _reset_after_fork(**_: object) -> None:
    global _runtime
    _runtime = None


@worker_init.connect
def _start_metrics(**_: object) -> None:
    settings = runtime().config.settings
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_address)


@worker_process_shutdown.connect
def _child_exited(pid: int | None = None, **_: object) -> None:
    metrics.process_exited(pid or os.getpid())


@after_setup_logger.connect
def _logging(logger: logging.Logger, **_: object) -> None:
    if not logger.handlers:
        setup_logging()
    install_redaction(logger)


@app.task(name="newswatch.tick")
def tick() -> dict[str, int]:
    return run_tick(runtime())


@app.task(name="newswatch.poll_source")
def poll_source(source_id: str, claimed_at: float | None = None) -> str:
    return poll_one_source(runtime(), source_id, claimed_at).status


@app.task(name="newswatch.deliver", bind=True)
def deliver(self: Task[Any, str], alert_id: str, handed: dict[str, Any] | None = None) -> str:
    return deliver_alert(runtime(), alert_id, handed, was_redelivered(self.request.delivery_info))


@app.task(name="newswatch.send_digest")
def send_digest(channel_id: str) -> str:
    return send_channel_digest(runtime(), channel_id)


@app.task(name="newswatch.websub_sync")
def websub_sync(source_id: str) -> str:
    return sync_subscription(runtime(), source_id)


@app.task(name="newswatch.websub_push")
def websub_push(source_id: str, body_b64: str, content_type: str | None, topic: str) -> str:
    return receive_push(runtime(), source_id, body_b64, content_type, topic).status
