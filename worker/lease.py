"""The delivery lease and its hand-off from the alert's creator to the deliver message.

The rules, in one place (the store's `claim_delivery` carries out rule 4):

1. An attempt to send an alert holds a lease of `redelivery_after` seconds; while it is
   live nobody else may send that alert. The tick hands out again only alerts whose
   lease has run out, so a lost message or a dead worker costs one lease at most.
2. An alert to send right away (not a digest, no near-duplicate hold) whose article is
   short enough to travel in a broker message is created already claimed for its first
   attempt, and its record goes with the deliver message: two store round trips per
   alert (create, finish) instead of three. A long article's record stays in the store
   only, so broker messages stay small.
3. The deliver message sends with the record it carries only on its first delivery
   (not one the broker put back after its worker was lost, perhaps after sending), for
   that alert, and with half the lease left at least, so the send ends before anyone
   else may claim the alert.
4. Otherwise it claims from the store, taking over the creator's lease only if it still
   ends exactly when the carried record says (nobody has claimed it since); a claim fails
   when the alert was sent, failed, is not yet due, or another worker holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .store import Delivery, Store

# Characters of article text a deliver message may carry with its claimed record (rule 2).
MAX_HANDED_TEXT = 20_000


@dataclass(frozen=True)
class Lease:
    """How long an attempt holds an alert, and whether a message may send without asking."""

    seconds: float  # `redelivery_after`

    def hands_on(self, text: str, digest: bool, hold: float) -> bool:
        """Rule 2: is this alert created claimed, its record handed to the deliver message?"""
        return not digest and hold == 0 and len(text) <= MAX_HANDED_TEXT

    def until(self, now: float) -> float:
        """When a lease taken now runs out (rule 1)."""
        return now + self.seconds

    def may_send_handed(self, record: Delivery, alert_id: str, redelivered: bool,
                        now: float) -> bool:
        """Rule 3: may the message send with the record it carries, without the store?"""
        return (not redelivered and record.alert_id == alert_id
                and record.lease_until - now >= self.seconds / 2)

    def take(self, store: Store, alert_id: str, handed: dict[str, Any] | None, redelivered: bool,
             now: float) -> Delivery | None:
        """The record to send with, under a live lease; None when this message must not send."""
        held_until = None
        if handed is not None:
            record = Delivery.from_dict(handed)
            if self.may_send_handed(record, alert_id, redelivered, now):
                return record
            held_until = record.lease_until
        # Rule 4.
        return store.claim_delivery(alert_id, now, lease=self.seconds, held_until=held_until)


def was_redelivered(delivery_info: Mapping[str, Any] | None) -> bool:
    """Did the broker put this message back after its worker was lost (rule 3)?

    Both transports mark it: RabbitMQ itself, kombu's Redis transport when it restores
    unacked messages.
    """
    return bool((delivery_info or {}).get("redelivered"))
