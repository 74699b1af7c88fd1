"""Digests: one email with every alert waiting in a channel's digest."""

from __future__ import annotations

import logging
import time
import uuid

from .ledger import alert_from_record
from .logs import ms_since, summary
from .models import DeliveryResult
from .runtime import Runtime
from .store import PENDING, SENT

log = logging.getLogger("newswatch.pipeline")


def send_digest(rt: Runtime, channel_id: str) -> str:
    """Send one email with every alert waiting in a channel's digest.

    The alerts leave the digest only after they are recorded as sent: a digest cut short
    by a crash goes out with the next period's (at least once, never lost). The lock keeps
    two schedulers' digests of one channel from going out at once.
    """
    started = time.monotonic()
    token = uuid.uuid4().hex
    if not rt.store.try_lock(f"digest:{channel_id}", token, ttl=rt.config.settings.redelivery_after):
        return "busy"
    try:
        ids = rt.store.digest_items(channel_id)
        records = [r for r in (rt.store.delivery(i) for i in ids) if r and r.state == PENDING]
        if not records:
            rt.store.remove_from_digest(channel_id, ids)
            return "empty"
        alerts = [alert_from_record(rt, r) for r in records]
        try:
            result = rt.sender(channel_id).send_digest(alerts)
        except Exception as error:
            log.exception("digest for %s raised", channel_id)
            result = DeliveryResult(ok=False, detail=f"{type(error).__name__}: {error}")
        if result.ok:
            now = time.time()
            for record in records:
                rt.store.finish_delivery(record.alert_id, SENT, None, now)
            rt.store.remove_from_digest(channel_id, ids)
        # else: they stay in the digest for the next period
    finally:
        rt.store.unlock(f"digest:{channel_id}", token)
    summary("send_digest", logging.INFO if result.ok else logging.WARNING, channel=channel_id,
            status="sent" if result.ok else "retry", alerts=len(records), detail=result.detail,
            ms=ms_since(started))
    return SENT if result.ok else PENDING
