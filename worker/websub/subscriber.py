"""The subscriber's side of WebSub towards a hub: subscribe, renew, unsubscribe.

One job, `websub_sync`, brings one source's subscription in line with what the config
wants; the tick hands it out when the record's `check_at` comes (a new hub found by a
poll, a lease to renew, a verification that never came, a config edit). Each step is
written to the store before the hub is asked, so the hub's verification of intent,
which may arrive before the hub even answers the request, finds the record waiting.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from ..fetch import FetchError
from ..logs import summary
from ..runtime import Runtime
from ..store import (
    SUB_ACTIVE,
    SUB_DISCOVERED,
    SUB_RENEWING,
    SUB_SUBSCRIBING,
    SUB_UNSUBSCRIBING,
    Subscription,
)

# A hub that accepted a request has this long to verify it before we count a failure.
VERIFY_TIMEOUT = 600.0
FIRST_RETRY = 300.0
MAX_RETRY = 86400.0
# Leases are renewed when this share of them has passed (a day ahead at most).
RENEW_AT = 0.8
# A lease shorter than this is refused at verification (a hub answering "0" would
# otherwise make us renew in a loop).
MIN_LEASE = 60.0


def callback_url(rt: Runtime, source_id: str) -> str | None:
    """Where the hub should push this source, or None when it should not be subscribed:
    no `public_url`, a source that is gone, not a feed, or has `websub: false`."""
    base = rt.config.settings.public_url
    if not base:
        return None
    try:
        source = rt.config.source(source_id)
    except StopIteration:
        return None
    if source.kind != "feed" or not source.websub:
        return None
    return f"{base.rstrip('/')}/websub/{source_id}"


def renew_at(now: float, lease: float) -> float:
    return now + max(lease * RENEW_AT, lease - 86400.0)


def retry_delay(failures: int) -> float:
    growth: int = 2 ** min(max(failures - 1, 0), 16)  # a non-negative power of an int is an int
    return min(FIRST_RETRY * growth, MAX_RETRY)


def sync_subscription(rt: Runtime, source_id: str) -> str:
    """Take the step this source's subscription needs now; returns what was done."""
    store = rt.store
    sub = store.subscription(source_id)
    if sub is None:
        return "none"
    now = time.time()
    wanted = callback_url(rt, source_id)
    subscribed = sub.state in (SUB_SUBSCRIBING, SUB_ACTIVE, SUB_RENEWING)
    if sub.state == SUB_UNSUBSCRIBING:
        # The hub never verified the unsubscription: it ends anyway; pushes are refused now.
        sub = _write(rt, sub, sub.but(state=SUB_DISCOVERED, secret="", expires_at=None,
                                      check_at=now, last_error="unsubscription never verified"))
        if sub is None:
            return "raced"
        subscribed = False
    if wanted is None or (subscribed and wanted != sub.callback):
        if subscribed:
            return _request(rt, sub, "unsubscribe", sub.callback, now)
        if not configured(rt, source_id):
            return "dropped" if store.drop_subscription(source_id, sub.revision) else "raced"
        if wanted is None:
            return "off" if _write(rt, sub, sub.but(check_at=None)) else "raced"
    if sub.state == SUB_SUBSCRIBING:
        return _failed(rt, sub, "the hub never verified the subscription", now)
    if sub.state == SUB_RENEWING:
        return _failed(rt, sub, "the hub never verified the renewal", now)
    return _request(rt, sub, "subscribe", wanted or sub.callback, now)


def configured(rt: Runtime, source_id: str) -> bool:
    try:
        rt.config.source(source_id)
    except StopIteration:
        return False
    return True


def _write(rt: Runtime, old: Subscription, new: Subscription) -> Subscription | None:
    return new if rt.store.put_subscription(new, replaces=old.revision) else None


def _request(rt: Runtime, sub: Subscription, mode: str, callback: str, now: float) -> str:
    if mode == "subscribe":
        renewing = sub.state == SUB_ACTIVE and sub.expires_at is not None and sub.expires_at > now
        pending = sub.but(state=SUB_RENEWING if renewing else SUB_SUBSCRIBING, callback=callback,
                          # A renewal keeps its secret: pushes signed with it stay valid throughout.
                          secret=sub.secret if renewing else secrets.token_hex(32),
                          check_at=now + VERIFY_TIMEOUT)
    else:
        pending = sub.but(state=SUB_UNSUBSCRIBING, check_at=now + VERIFY_TIMEOUT)
    if _write(rt, sub, pending) is None:
        return "raced"
    fields = {"hub.callback": callback, "hub.mode": mode, "hub.topic": sub.topic}
    if mode == "subscribe":
        fields["hub.lease_seconds"] = str(int(rt.config.settings.websub_lease))
        fields["hub.secret"] = pending.secret
    try:
        response = rt.fetcher.post_form(sub.hub, fields)
    except FetchError as error:
        return _failed(rt, pending, f"hub refused {mode}: {error.reason}", now)
    summary("websub", source=sub.source_id, status=f"{mode}_requested", hub=sub.hub,
            http=response.status)
    return f"{mode}_requested"


def _failed(rt: Runtime, sub: Subscription, error: str, now: float) -> str:
    """One failed step: try again later (backing off); a live lease stays in force."""
    failures = sub.failures + 1
    retry = now + retry_delay(failures)
    if sub.state == SUB_UNSUBSCRIBING:
        new = sub.but(state=SUB_DISCOVERED, secret="", expires_at=None, check_at=now,
                      last_error=error)
    elif sub.expires_at is not None and sub.expires_at > now and sub.state == SUB_RENEWING:
        new = sub.but(state=SUB_ACTIVE, failures=failures, last_error=error,
                      check_at=min(retry, max(now, sub.expires_at - VERIFY_TIMEOUT)))
    else:
        new = sub.but(state=SUB_DISCOVERED, secret="", expires_at=None, failures=failures,
                      last_error=error, check_at=retry)
    _write(rt, sub, new)
    summary("websub", logging.WARNING, source=sub.source_id, status="error", hub=sub.hub,
            failures=failures, error=error, retry_in_s=int(retry - now))
    return "error"


def describe(sub: Subscription | None, now: float, when: Callable[[float], str]) -> str:
    """One line on the status page: where a source's subscription stands."""
    if sub is None:
        return ""
    if sub.receives:
        text = f"live until {when(sub.expires_at or now)}"
        return text + (" (renewing)" if sub.state == SUB_RENEWING else "")
    if sub.state in (SUB_SUBSCRIBING, SUB_UNSUBSCRIBING):
        return f"{sub.state}: waiting for the hub"
    if sub.last_error:
        return f"not subscribed: {sub.last_error}"
    return "hub found, not subscribed" if sub.check_at is None else "hub found, subscribing soon"
