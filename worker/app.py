"""The Celery app: broker from the config's `redis_url`, queues by kind of work, beat tick.

`celery -A worker.app worker` and `celery -A worker.app beat` read the config
named by NEWSWATCH_CONFIG (default: ./config) when Celery first needs its
configuration (worker or beat start), not when this module is imported: importing
`worker.app` (or `worker.tasks`) never reads a file and never exits, so tools and
tests can import it without a config. Beat has one entry, the tick:
which sources are due lives in the store's sorted set, not in beat, so config
changes apply without a restart and two beats cannot double-schedule a source.
"""

from __future__ import annotations

import logging
import os
import tempfile

from celery import Celery
from celery.signals import after_setup_logger, after_task_publish
from kombu import Queue

from .broker import install_outage_log, outage_log, use_restart_safe_redis_transport
from .config import ConfigError, load_config
from .queues import DEFAULT_QUEUE, QUEUES, ROUTES


def _from_config() -> dict[str, object]:
    """The settings that come from newswatch's config: read when Celery first needs them.

    Exits with a clear message for an invalid config or one without a broker:
    at worker or beat start, where the operator sees it.
    """
    try:
        config = load_config(os.environ.get("NEWSWATCH_CONFIG"))
    except ConfigError as error:
        raise SystemExit(f"newswatch: invalid configuration:\n{error}") from None
    if config.settings.metrics_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Prefork children each keep their metric values in files here, for the main
        # process's endpoint to add up; prometheus_client reads this when first imported
        # (by worker.tasks, which Celery imports after its configuration).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="newswatch-metrics-")
    # The broker can be another server (RabbitMQ); Redis always remains the store.
    broker = os.environ.get("NEWSWATCH_BROKER_URL") or config.settings.redis_url
    if not broker:
        raise SystemExit(
            "newswatch: settings.redis_url is empty, so there is no broker for Celery.\n"
            "Set REDIS_URL (e.g. redis://localhost:6379/0), or run `newswatch run` "
            "for the embedded mode."
        )
    use_restart_safe_redis_transport()
    return {
        "broker_url": broker,
        "beat_schedule": {
            "newswatch-tick": {"task": "newswatch.tick", "schedule": config.settings.tick_every},
        },
    }


def create_app() -> Celery:
    """The Celery app, its config-file settings still pending (see ``_from_config``)."""
    celery = Celery("newswatch", include=["worker.tasks"])
    celery.conf.update(
        task_default_queue=DEFAULT_QUEUE,
        task_queues=[Queue(name) for name in QUEUES],
        task_routes=ROUTES,
        # A delivery in flight on a worker that dies runs again; the ledger stops repeats.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # A broker restart or outage is ridden out however long it lasts (one log line
        # when it goes, one when it is back). The tasks running meanwhile finish; their
        # messages come back after the visibility timeout and find their work done in the
        # store (polls: last_poll_end; deliveries: the ledger), so nothing runs twice.
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    # Celery calls this when its configuration is first read, not now.
    celery.add_defaults(_from_config)
    return celery


app = create_app()


@after_setup_logger.connect
def _broker_outage_lines(logger: logging.Logger, **_: object) -> None:
    install_outage_log(logger)


@after_task_publish.connect
def _broker_back(**_: object) -> None:
    outage_log.back()  # beat learns that the broker is back when a tick goes out
