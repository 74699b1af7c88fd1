"""The lease hand-off rules (worker/lease.py), each on its own, without a broker or a send."""

from __future__ import annotations

from worker.lease import MAX_HANDED_TEXT, Lease, was_redelivered
from worker.store import Delivery


def handed_record(alert_id: str, lease_until: float) -> Delivery:
    return Delivery(alert_id=alert_id, article_id="a", topic_id="t", channel_id="c", alert={},
                    created_at=0.0, updated_at=0.0, next_attempt_at=0.0, attempts=1,
                    lease_until=lease_until)


def test_only_an_alert_sent_at_once_with_a_short_text_is_handed_on():
    lease = Lease(30.0)
    assert lease.hands_on("short text", digest=False, hold=0)
    assert not lease.hands_on("short text", digest=True, hold=0), "a digest waits for its email"
    assert not lease.hands_on("short text", digest=False, hold=5.0), "a held alert waits"
    assert not lease.hands_on("x" * (MAX_HANDED_TEXT + 1), digest=False, hold=0)


def test_a_handed_record_is_sent_with_only_on_a_first_delivery_with_half_its_lease_left():
    lease = Lease(30.0)
    now = 1000.0
    fresh = handed_record("al-1", lease.until(now))
    assert lease.may_send_handed(fresh, "al-1", redelivered=False, now=now)
    assert lease.may_send_handed(fresh, "al-1", redelivered=False, now=now + 15.0)
    assert not lease.may_send_handed(fresh, "al-1", redelivered=False, now=now + 15.1)
    assert not lease.may_send_handed(fresh, "al-1", redelivered=True, now=now)
    assert not lease.may_send_handed(fresh, "other", redelivered=False, now=now)


class RecordingStore:
    def __init__(self) -> None:
        self.claims: list[tuple[str, float, float, float | None]] = []

    def claim_delivery(self, alert_id, now, lease, held_until=None):
        self.claims.append((alert_id, now, lease, held_until))
        return None


def test_a_message_that_may_not_send_with_its_record_claims_the_creators_lease_in_the_store():
    lease = Lease(30.0)
    store = RecordingStore()
    record = handed_record("al-1", 1030.0)
    assert lease.take(store, "al-1", record.to_dict(), redelivered=False, now=1000.0) == record
    assert store.claims == [], "a fresh hand-off costs no store round trip"
    assert lease.take(store, "al-1", record.to_dict(), redelivered=True, now=1000.0) is None
    assert lease.take(store, "al-1", None, redelivered=False, now=1000.0) is None
    assert store.claims == [("al-1", 1000.0, 30.0, 1030.0), ("al-1", 1000.0, 30.0, None)]


def test_a_message_is_redelivered_only_when_the_broker_says_so():
    assert was_redelivered({"redelivered": True})
    assert not was_redelivered({"redelivered": False})
    assert not was_redelivered({})
    assert not was_redelivered(None)
