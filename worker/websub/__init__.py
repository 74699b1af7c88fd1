"""WebSub (W3C Recommendation): a feed whose site pushes is not only polled.

- discovery.py: the hub and topic a fetched feed advertises
- subscriber.py: the `websub_sync` job, which subscribes, renews and unsubscribes
- callback.py: `/websub/<source id>` in `newswatch web`: verification of intent, pushes
- pushes.py: where the web service hands a verified push (Celery or an embedded runner)
- push.py: the `websub_push` job: the pushed feed through the poll's claim/article/alert path

The hooks the rest of the pipeline calls are here: `polling_interval` (a poll's, records
the hub and relaxes polling while pushes arrive) and `schedule_subscriptions` (the
tick's). All is off unless `settings.public_url` is set.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING, Any

from ..logs import summary
from ..models import Config, Source
from ..runtime import Runtime
from ..store import SUB_DISCOVERED, SUB_UNSUBSCRIBING, Subscription
from .discovery import advertised_hub
from .push import receive_push
from .subscriber import callback_url, configured, sync_subscription

if TYPE_CHECKING:
    from ..listing import Listing

__all__ = ["polling_interval", "receive_push", "safety_net_every", "schedule_subscriptions",
           "sync_subscription"]


def polling_interval(rt: Runtime, source: Source, listing: Listing | None, every: float) -> float:
    """A poll's hook: record the hub the feed advertises (a new one is subscribed at the
    next tick) and return the interval to poll at: `every` (the pace's choice), or, while
    a subscription delivers pushes, at least the safety-net interval (safety_net_every)."""
    settings = rt.config.settings
    if not settings.public_url or callback_url(rt, source.id) is None:
        return every
    found = None
    if listing is not None and not listing.response.not_modified:
        found = advertised_hub(listing.response)
    sub = rt.store.subscription(source.id)
    if found is not None and (sub is None or (sub.hub, sub.topic) != (found.hub, found.topic)):
        # A new hub or topic: a fresh subscription. One with an old hub is left to lapse
        # there; its pushes no longer verify (its secret is gone) and are refused.
        fresh: dict[str, Any] = dict(hub=found.hub, topic=found.topic, state=SUB_DISCOVERED, secret="",
                     expires_at=None, failures=0, last_error=None, check_at=time.time())
        new = Subscription(source.id, **fresh) if sub is None else sub.but(**fresh)
        if rt.store.put_subscription(new, replaces=sub.revision if sub else None):
            summary("websub", source=source.id, status="hub_found", hub=found.hub,
                    topic=found.topic)
            sub = new
    if sub is not None and sub.receives:
        return max(every, safety_net_every(rt, source))
    return every


def safety_net_every(rt: Runtime, source: Source) -> float:
    """How often a pushed source is still polled: `websub_poll_every` when set, else the
    source's `max_every` (SPEC "Freshness"), never more often than its `every`."""
    from ..pace import bounds

    settings = rt.config.settings
    return max(source.every, settings.websub_poll_every or bounds(source, settings)[1])


# The config each process last reconciled the subscriptions with (see below).
_reconciled: weakref.ref[Config] | None = None


def schedule_subscriptions(rt: Runtime, now: float) -> int:
    """The tick's hook: hand out `websub_sync` for every subscription whose time has
    come. After a config change (and at a process's first tick) every record is compared
    with the config first, so a removed source or `websub: false` is unsubscribed at once
    and a new `public_url` subscribes the hubs already known."""
    global _reconciled
    if _reconciled is None or _reconciled() is not rt.config:
        for sub in rt.store.subscriptions():
            if _needs_step(rt, sub) and (sub.check_at is None or sub.check_at > now):
                rt.store.put_subscription(sub.but(check_at=now), replaces=sub.revision)
        _reconciled = weakref.ref(rt.config)
    due = rt.store.claim_subscriptions(now, hold=rt.config.settings.poll_claim)
    for source_id in due:
        rt.dispatcher.enqueue("websub_sync", source_id)
    return len(due)


def _needs_step(rt: Runtime, sub: Subscription) -> bool:
    wanted = callback_url(rt, sub.source_id)
    if sub.state == SUB_DISCOVERED:
        # Switched on (not when merely waiting out a retry), or a source that is gone.
        return (wanted is not None and sub.check_at is None) or not configured(rt, sub.source_id)
    if sub.state == SUB_UNSUBSCRIBING:
        return False  # under way
    return wanted != sub.callback  # subscribed, and no longer wanted (or elsewhere)
