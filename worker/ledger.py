"""The delivery ledger's records: an alert created once in the store (with its first
lease handed on when the lease rules allow) and read back for sending.
"""

from __future__ import annotations

from datetime import datetime

from .lease import Lease
from .models import Alert, Article, Match, Topic
from .runtime import Runtime
from .store import Delivery
from .store.base import AlertRecord

# A digest item waits for its period's email, never for the retry sweep.
NEVER = 1e18


def create_delivery(rt: Runtime, alert: Alert, now: float) -> bool:
    """Record a new alert once; False when it is already in the ledger.

    An alert sent right away is queued for delivery; one the lease rules let hand on
    (worker/lease.py, rule 2) is created claimed and its record travels with the message.
    """
    channel = rt.config.channel(alert.channel_id)
    digest = channel.mode == "digest"
    hold = rt.config.settings.near_duplicate_hold
    lease = Lease(rt.config.settings.redelivery_after)
    handed = lease.hands_on(alert.article.text, digest, hold)
    record = Delivery(
        alert_id=alert.id, article_id=alert.article.id, topic_id=alert.topic.id,
        channel_id=channel.id, alert=alert_to_record(alert), created_at=now, updated_at=now,
        next_attempt_at=NEVER if digest else now + hold,
        attempts=1 if handed else 0, lease_until=lease.until(now) if handed else 0.0,
    )
    # A digest alert joins its channel's digest in the same store step.
    if not rt.store.create_delivery(record, digest=digest):
        return False  # another poll, feed or worker got there first
    if handed:
        rt.dispatcher.enqueue("deliver", alert.id, record.to_dict())
    elif not digest:
        rt.dispatcher.enqueue("deliver", alert.id, countdown=hold)
    return True


def alert_to_record(alert: Alert) -> AlertRecord:
    return {
        "event": alert.event,
        "topic": {"id": alert.topic.id, "name": alert.topic.name},
        "article": alert.article.to_dict(),
        "match": alert.match.to_dict(),
        "detected_at": alert.detected_at.isoformat(),
    }


def alert_from_record(rt: Runtime, record: Delivery) -> Alert:
    data = record.alert
    try:
        topic = rt.config.topic(record.topic_id)
    except StopIteration:  # the topic left the config after the match: keep its name
        topic = Topic(id=record.topic_id, name=data["topic"]["name"], query="")
    match = data["match"]
    return Alert(
        id=record.alert_id, topic=topic, article=Article.from_dict(data["article"]),
        match=Match(record.topic_id, match["score"], tuple(match["terms"]),
                    tuple(match["snippets"])),
        channel_id=record.channel_id, also_reported_by=tuple(record.also_reported_by),
        detected_at=datetime.fromisoformat(data["detected_at"]),
        event=data.get("event", "topic.match"),
    )
