"""Celery queue topology: which kind of work goes where (no Celery import, no side effects)."""

from __future__ import annotations

DEFAULT_QUEUE = "newswatch"  # the tick and anything unrouted
QUEUES = (DEFAULT_QUEUE, "fetch", "deliver")
ROUTES = {
    # network-bound polling, so slow sites never hold up alerts
    "newswatch.poll_source": {"queue": "fetch"},
    # WebSub: requests to hubs, and pushed feeds (their pages are fetched like a poll's)
    "newswatch.websub_sync": {"queue": "fetch"},
    "newswatch.websub_push": {"queue": "fetch"},
    # alerts on their own queue: a backlog of polls never delays a delivery
    "newswatch.deliver": {"queue": "deliver"},
    "newswatch.send_digest": {"queue": "deliver"},
}
