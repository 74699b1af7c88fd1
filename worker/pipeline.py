"""The stages wired together: tick -> poll_source -> (parse, dedup, match) -> deliver.

Plain Python: every job takes a Runtime and plain arguments, does one step,
records the result in the store and asks the dispatcher for the next step.
Celery tasks (tasks.py) and the embedded scheduler (embedded.py) both run the jobs
named here; each stage lives in its own module:

- schedule.py: the tick (what is due), digest timing, the cycle line
- poll.py: one source's poll, its crash-safe entry claims, entry -> article
- health.py: ops alerts when a source fails and recovers
- identity.py: near-duplicate identity of republished stories
- alerting.py: matches -> one ledger record per (story, topic, channel)
- ledger.py: delivery records in and out of the store
- lease.py: the delivery lease and its hand-off to the deliver message
- delivery.py: one alert's send, retries; digest.py: a channel's digest email
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .delivery import deliver
from .digest import send_digest
from .poll import poll_source
from .schedule import tick
from .websub import receive_push, sync_subscription

JOBS: dict[str, Callable[..., Any]] = {
    "tick": tick,
    "poll_source": poll_source,
    "deliver": deliver,
    "send_digest": send_digest,
    "websub_sync": sync_subscription,
    "websub_push": receive_push,
}

__all__ = ["JOBS"]
