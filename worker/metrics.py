"""Prometheus metrics: polls, errors, latencies, deliveries.

Counters are always kept (they cost a few hundred nanoseconds); the HTTP endpoint
runs only when `settings.metrics_port` is set. Under Celery's prefork pool every
child process writes its own values to PROMETHEUS_MULTIPROC_DIR and the endpoint
in the worker's main process adds them up, so one scrape sees the whole worker.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("newswatch.metrics")

_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set by worker.app before this module loads

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server  # noqa: E402

POLLS = Counter("newswatch_polls", "Source polls by result", ["status"])
POLL_SECONDS = Histogram(
    "newswatch_poll_duration_seconds", "Time of one poll (fetch, parse, match)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
NEW_ARTICLES = Counter("newswatch_new_articles", "Entries not seen before")
MATCHES = Counter("newswatch_matches", "Articles matched by a topic")
ALERTS = Counter("newswatch_alerts_created", "Deliveries created (one per article, topic, channel)")
DELIVERIES = Counter("newswatch_deliveries", "Delivery attempts by outcome", ["channel", "status"])
DELIVERY_SECONDS = Histogram(
    "newswatch_delivery_duration_seconds", "Time of one delivery attempt", ["channel"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_poll(status: str, seconds: float, new: int, matched: int, alerts: int) -> None:
    POLLS.labels(status).inc()
    POLL_SECONDS.observe(seconds)
    if new:
        NEW_ARTICLES.inc(new)
    if matched:
        MATCHES.inc(matched)
    if alerts:
        ALERTS.inc(alerts)


def observe_delivery(channel: str, status: str, seconds: float) -> None:
    DELIVERIES.labels(channel, status).inc()
    DELIVERY_SECONDS.labels(channel).observe(seconds)


def serve(port: int, address: str = "127.0.0.1") -> bool:
    """Start the /metrics endpoint in a daemon thread; False (logged) if the port is taken."""
    registry = None
    if os.environ.get(_MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    try:
        if registry is None:
            start_http_server(port, addr=address)
        else:
            start_http_server(port, addr=address, registry=registry)
    except OSError as error:
        log.warning("metrics endpoint not started on %s:%d: %s", address, port, error)
        return False
    log.info("metrics on http://%s:%d/metrics", address, port)
    return True


def process_exited(pid: int) -> None:
    """Forget a dead child's live gauges (counters and histograms are kept)."""
    if os.environ.get(_MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
