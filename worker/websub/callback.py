"""The subscriber's callback, `/websub/<source id>` in `newswatch web`.

GET is the hub's verification of intent (W3C WebSub §5.3): the challenge is echoed only
for a subscription the scheduler asked for, with the same topic and mode; anything else
is a 404, so nobody can subscribe this callback to what it never asked for.
POST is content distribution (§7): the body must carry a valid `X-Hub-Signature` made
with the subscription's secret. A missing or wrong signature is acknowledged (2xx, as the
spec allows) and dropped with one log line; a push for no live subscription is a 410,
which tells the hub to drop it; a body over `websub_max_body` is a 413.
A valid push is handed to the pipeline as a `websub_push` job (see pushes.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from flask import Blueprint, Response, request

from ..logs import summary
from ..models import Settings
from ..store import (
    SUB_ACTIVE,
    SUB_DISCOVERED,
    SUB_RENEWING,
    SUB_SUBSCRIBING,
    SUB_UNSUBSCRIBING,
    Store,
    Subscription,
)
from .subscriber import MIN_LEASE, renew_at, retry_delay

# X-Hub-Signature methods (WebSub §7.1) and their hashes.
SIGNATURE_METHODS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
                     "sha512": hashlib.sha512}
MAX_CHALLENGE = 1024
MAX_LEASE = 365 * 86400.0
CAS_TRIES = 3

Enqueue = Callable[[str, str, str | None, str], None]  # source id, body (base64), type, topic


def _text(body: str, status: int) -> Response:
    return Response(body, status, {"Content-Type": "text/plain; charset=utf-8"})


def signature_valid(secret: str, header: str | None, body: bytes) -> bool:
    """`header` is "method=hexdigest" of an HMAC of `body` keyed with `secret`."""
    if not header or not secret:
        return False
    method, _, given = header.strip().partition("=")
    digest = SIGNATURE_METHODS.get(method.strip().lower())
    if digest is None:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def verified(sub: Subscription, mode: str, lease: float | None, reason: str,
             now: float) -> Subscription | None:
    """The record after the hub's verification request in `mode`, or None to refuse it."""
    if mode == "subscribe" and sub.state in (SUB_SUBSCRIBING, SUB_RENEWING, SUB_ACTIVE):
        if lease is None:
            return None
        return sub.but(state=SUB_ACTIVE, lease_seconds=lease, expires_at=now + lease,
                       check_at=renew_at(now, lease), failures=0, last_error=None)
    if mode == "unsubscribe" and sub.state == SUB_UNSUBSCRIBING:
        # The scheduler decides next whether the record goes (source removed) or stays.
        return sub.but(state=SUB_DISCOVERED, secret="", expires_at=None, check_at=now,
                       failures=0, last_error=None)
    if mode == "denied" and sub.state in (SUB_SUBSCRIBING, SUB_RENEWING, SUB_ACTIVE):
        failures = sub.failures + 1
        return sub.but(state=SUB_DISCOVERED, secret="", expires_at=None, failures=failures,
                       last_error=f"denied by the hub: {reason}"[:300],
                       check_at=now + retry_delay(failures))
    return None


def _lease(value: str | None) -> float | None:
    """hub.lease_seconds when it is a whole number of seconds within bounds, else None."""
    if value is None or not value.strip().isdigit():
        return None
    lease = float(value.strip())
    return lease if MIN_LEASE <= lease <= MAX_LEASE else None


def websub_blueprint(store: Store, settings: Settings, enqueue: Enqueue) -> Blueprint:
    blueprint = Blueprint("websub", __name__)

    @blueprint.get("/websub/<source_id>")
    def verify(source_id: str) -> Response:
        args = request.args
        mode = args.get("hub.mode", "")
        topic = args.get("hub.topic", "")
        challenge = args.get("hub.challenge", "")
        if mode != "denied" and not 0 < len(challenge) <= MAX_CHALLENGE:
            return _refuse(source_id, mode, "no usable hub.challenge")
        if mode == "subscribe" and _lease(args.get("hub.lease_seconds")) is None:
            return _refuse(source_id, mode, f"lease {args.get('hub.lease_seconds')!r} is not "
                           f"{MIN_LEASE:g}..{MAX_LEASE:g} seconds")
        for _ in range(CAS_TRIES):  # the scheduler may be writing the same record
            sub = store.subscription(source_id)
            if sub is None or not topic or topic != sub.topic:
                return _refuse(source_id, mode, "no subscription for this topic")
            new = verified(sub, mode, _lease(args.get("hub.lease_seconds")),
                           args.get("hub.reason", ""), time.time())
            if new is None:
                return _refuse(source_id, mode, f"not expected while {sub.state}")
            if store.put_subscription(new, replaces=sub.revision):
                summary("websub_verify", source=source_id, status=mode, hub=sub.hub,
                        lease_s=int(new.lease_seconds) if mode == "subscribe" else None,
                        error=new.last_error)
                return _text(challenge if mode != "denied" else "ok", 200)
        return _refuse(source_id, mode, "the subscription kept changing")

    @blueprint.post("/websub/<source_id>")
    def push(source_id: str) -> Response:
        limit = settings.websub_max_body
        if (request.content_length or 0) > limit:
            summary("websub_push", logging.WARNING, source=source_id, status="refused",
                    error=f"body over {limit} bytes")
            return _text("413 body too large\n", 413)
        body = request.stream.read(limit + 1)
        if len(body) > limit:
            summary("websub_push", logging.WARNING, source=source_id, status="refused",
                    error=f"body over {limit} bytes")
            return _text("413 body too large\n", 413)
        sub = store.subscription(source_id)
        if sub is None or not sub.receives:
            summary("websub_push", logging.WARNING, source=source_id, status="refused",
                    error="no live subscription")
            return _text("410 no subscription\n", 410)
        if not signature_valid(sub.secret, request.headers.get("X-Hub-Signature"), body):
            # §7.1: ignored, yet acknowledged, so a forger learns nothing.
            summary("websub_push", logging.WARNING, source=source_id, status="ignored",
                    error="missing or invalid X-Hub-Signature")
            return _text("202 accepted\n", 202)
        enqueue(source_id, base64.b64encode(body).decode("ascii"), request.content_type, sub.topic)
        return _text("202 accepted\n", 202)

    return blueprint


def _refuse(source_id: str, mode: str, why: str) -> Response:
    summary("websub_verify", logging.WARNING, source=source_id, status="refused",
            mode=mode[:20] or None, error=why)
    return _text("404 no such subscription\n", 404)
