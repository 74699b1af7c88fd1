"""Delivery: send one alert under its lease, record the outcome, schedule a retry."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from . import metrics
from .lease import Lease
from .ledger import alert_from_record
from .logs import ms_since, summary
from .models import Alert, DeliveryResult
from .runtime import Runtime
from .store import FAILED, PENDING, SENT

log = logging.getLogger("newswatch.pipeline")


def deliver(rt: Runtime, alert_id: str, handed: dict[str, Any] | None = None, redelivered: bool = False) -> str:
    """Send one alert if it is still pending and nobody else holds it; schedule a retry.

    `handed` is the record its creator claimed for this first attempt; whether it may be
    sent with, or the lease must be claimed from the store, is Lease.take's call
    (worker/lease.py states the rules).
    """
    started = time.monotonic()
    now = time.time()
    record = Lease(rt.config.settings.redelivery_after).take(rt.store, alert_id, handed,
                                                            redelivered, now)
    if record is None:
        return "skipped"  # sent, failed, not yet due, or another worker has it
    try:
        channel = rt.config.channel(record.channel_id)
    except StopIteration:
        rt.store.finish_delivery(alert_id, FAILED, "channel not in config", now)
        summary("deliver", logging.ERROR, alert=alert_id, channel=record.channel_id,
                status="failed", error="channel not in config")
        return FAILED
    alert = alert_from_record(rt, record)
    result = _send(rt, channel.id, alert)
    fields: dict[str, Any] = dict(alert=alert_id, channel=channel.id, topic=record.topic_id,
                  article=alert.article.url, attempt=record.attempts)
    metrics.observe_delivery(channel.id, "sent" if result.ok else "error", time.monotonic() - started)
    if result.ok:
        rt.store.finish_delivery(alert_id, SENT, None, time.time())
        summary("deliver", status="sent", **fields, detail=result.detail, ms=ms_since(started))
        return SENT
    age = now - record.created_at
    if result.permanent or age >= channel.retry.max_age:
        rt.store.finish_delivery(alert_id, FAILED, result.detail, time.time())
        why = "permanent error" if result.permanent else "gave up after max_age"
        summary("deliver", logging.ERROR, status="failed", **fields, error=result.detail,
                reason=why, ms=ms_since(started))
        return FAILED
    delay = retry_delay(channel.retry.backoff, channel.retry.max_backoff, record.attempts,
                        result.retry_after)
    rt.store.retry_delivery(alert_id, result.detail, now + delay, time.time())
    rt.dispatcher.enqueue("deliver", alert_id, countdown=delay)
    summary("deliver", logging.WARNING, status="retry", **fields, error=result.detail,
            retry_in=round(delay, 1), ms=ms_since(started))
    return PENDING


def retry_delay(backoff: float, max_backoff: float, attempts: int,
                retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter in its upper half; Retry-After wins when longer."""
    growth: int = 2 ** max(0, attempts - 1)  # a non-negative power of an int is an int
    ceiling = min(max_backoff, backoff * growth)
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max_backoff))
    return delay


def _send(rt: Runtime, channel_id: str, alert: Alert) -> DeliveryResult:
    try:
        return rt.sender(channel_id).send(alert)
    except Exception as error:  # a channel bug is a failed attempt, not a dead worker
        log.exception("channel %s raised", channel_id)
        return DeliveryResult(ok=False, detail=f"{type(error).__name__}: {error}")
