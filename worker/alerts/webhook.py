"""Webhook channel: POST the alert as JSON (or as a Slack / Discord message).

The body is serialised once and those exact bytes are both signed and sent,
so a receiver can verify `sha256=HMAC(secret, "<timestamp>.<body>")` or, with
any Standard Webhooks library (https://www.standardwebhooks.com),
`v1,base64(HMAC(key, "<id>.<timestamp>.<body>"))`. docs/webhooks.md is the
receiver's guide. Webhook URLs often embed a token: details name the host only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from worker.models import Alert, Channel, DeliveryResult

from ..headers import retry_after_seconds
from . import chat
from .options import Problem, key_problems, parse_seconds, render_problems, timeout_problems
from .redact import channel_secrets, redact, url_host
from .render import digest_id, group_by_topic, header_value

FORMATS = ("json", "slack", "discord")
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "newswatch-webhook/1"
# Headers newswatch sets itself; a channel's `headers` may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "x-newswatch-event",
        "x-newswatch-delivery",
        "x-newswatch-timestamp",
        "x-newswatch-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
# Standard Webhooks secrets look like `whsec_<base64 key>`; the key is the decoded bytes.
STANDARD_SECRET_PREFIX = "whsec_"
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Status codes where trying again later can succeed.
RETRYABLE_STATUS = frozenset({408, 425, 429})


def option_problems(options: Mapping[str, Any]) -> list[Problem]:
    problems = key_problems(
        options,
        required=["url"],
        optional=["secret", "format", "timeout", "headers", "timezone"],
        channel_type="webhook",
    )
    url = options.get("url")
    if url:
        try:
            parts = urlsplit(str(url))
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            problems.append(("url", "must be an http:// or https:// URL with a host"))
    secret = options.get("secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        problems.append(("secret", "must be a non-empty string (or leave `secret` out)"))
    elif isinstance(secret, str) and secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            standard_key(secret)
        except ValueError as error:
            problems.append(("secret", str(error)))
    fmt = options.get("format", "json")
    if fmt not in FORMATS:
        problems.append(("format", f"{fmt!r} is not one of: {', '.join(FORMATS)}"))
    headers = options.get("headers")
    if headers is not None:
        if not isinstance(headers, Mapping):
            problems.append(("headers", "must be a mapping of header name to value"))
        else:
            for name, value in headers.items():
                if not isinstance(name, str) or not _HEADER_NAME.match(name):
                    problems.append(("headers", f"{name!r} is not a valid header name"))
                elif name.lower() in RESERVED_HEADERS:
                    problems.append(("headers", f"{name} is set by newswatch and cannot be replaced"))
                elif not isinstance(value, str | int | float) or re.search(r"[\x00-\x1f\x7f]", str(value)):
                    problems.append(("headers", f"{name}: value must be one line of text"))
    problems += timeout_problems(options)
    problems += [p for p in render_problems(options) if p[0] == "timezone"]
    return problems


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Newswatch-Signature value for these exact body bytes."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def standard_key(secret: str) -> bytes:
    """The Standard Webhooks HMAC key: `whsec_<base64>` decoded, any other secret as UTF-8 bytes."""
    if not secret.startswith(STANDARD_SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(STANDARD_SECRET_PREFIX) :].rstrip("=")
    try:
        # Generated secrets often drop the "=" padding: restore exactly what base64 needs.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a whsec_ secret must be followed by base64 (the signing key)") from None
    if not key:
        raise ValueError("a whsec_ secret needs a key after the prefix")
    return key


def standard_sign(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """The webhook-signature value (Standard Webhooks v1) for these exact body bytes."""
    signed = message_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def encode(payload: Any) -> bytes:
    # Compact, UTF-8 as is (no \u escapes): smaller, and what receivers log reads naturally.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """The `topic.digest` body: every alert payload, grouped by topic."""
    groups = group_by_topic(alerts)
    return {
        "event": "topic.digest",
        "version": 1,
        "id": digest_id(alerts),
        "count": sum(len(items) for _, items in groups),
        "topics": [
            {
                "topic": {"id": topic.id, "name": topic.name},
                "alerts": [alert.payload() for alert in items],
            }
            for topic, items in groups
        ],
    }


class WebhookSender:
    def __init__(self, channel: Channel, session: requests.Session | None = None) -> None:
        options = channel.options
        self.channel_id = channel.id
        self.url = str(options["url"])
        self.host = url_host(self.url)
        self.secret: str | None = options.get("secret") or None
        self.standard_key = standard_key(self.secret) if self.secret else None
        self.format = options.get("format", "json")
        self.timeout = parse_seconds(options.get("timeout")) or DEFAULT_TIMEOUT
        self.timezone = options.get("timezone")
        self.extra_headers = {str(k): str(v) for k, v in (options.get("headers") or {}).items()}
        self.session = session or requests.Session()
        self._secrets = channel_secrets(options)

    def send(self, alert: Alert) -> DeliveryResult:
        if self.format == "slack":
            payload: Any = chat.slack_alert(alert, self.timezone)
        elif self.format == "discord":
            payload = chat.discord_alert(alert, self.timezone)
        else:
            payload = alert.payload()
        return self._post(encode(payload), event=alert.event, delivery=alert.id)

    def send_digest(self, alerts: list[Alert]) -> DeliveryResult:
        if not alerts:
            return DeliveryResult(ok=True, detail="digest empty: nothing sent")
        if self.format == "slack":
            payload: Any = chat.slack_digest(alerts, self.timezone)
        elif self.format == "discord":
            payload = chat.discord_digest(alerts, self.timezone)
        else:
            payload = digest_payload(alerts)
        return self._post(encode(payload), event="topic.digest", delivery=digest_id(alerts))

    def _headers(self, body: bytes, event: str, delivery: str) -> dict[str, str]:
        # A fresh timestamp per attempt: receivers reject stale signatures (replay protection).
        timestamp = str(int(time.time()))
        headers = dict(self.extra_headers)
        headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Newswatch-Event": event,
                "X-Newswatch-Delivery": delivery,
                "X-Newswatch-Timestamp": timestamp,
                # The same delivery for Standard Webhooks receivers: same id, same instant.
                "webhook-id": delivery,
                "webhook-timestamp": timestamp,
            }
        )
        if self.secret and self.standard_key:
            headers["X-Newswatch-Signature"] = sign(self.secret, timestamp, body)
            headers["webhook-signature"] = standard_sign(self.standard_key, delivery, timestamp, body)
        return headers

    def _post(self, body: bytes, event: str, delivery: str) -> DeliveryResult:
        headers = self._headers(body, event, delivery)
        try:
            # No redirects: a 30x would carry the signed body (and headers) to another URL.
            response = self.session.post(
                self.url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            return DeliveryResult(ok=False, detail=f"webhook: timed out after {self.timeout:g}s ({self.host})")
        except requests.ConnectionError as error:
            kind = "TLS error" if isinstance(error, requests.exceptions.SSLError) else "connection failed"
            return DeliveryResult(ok=False, detail=f"webhook: {kind} ({self.host})")
        except requests.RequestException as error:
            # Malformed URL and the like: retrying the same request cannot help.
            # The exception text may quote the URL, so only its class is reported.
            return DeliveryResult(ok=False, permanent=True, detail=f"webhook: {type(error).__name__} ({self.host})")
        try:
            return self._result(response)
        finally:
            _drain(response)
            response.close()

    def _result(self, response: requests.Response) -> DeliveryResult:
        status = response.status_code
        detail = f"http={status} host={self.host}"
        if 200 <= status < 300:
            return DeliveryResult(ok=True, detail=detail)
        if status in RETRYABLE_STATUS or status >= 500:
            return DeliveryResult(
                ok=False,
                detail=detail,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            detail += " (redirects are not followed: update the channel url)"
        reason = header_value(redact(str(response.reason or ""), self._secrets), limit=80)
        return DeliveryResult(ok=False, permanent=True, detail=f"{detail} {reason}".strip())


def _drain(response: requests.Response, limit: int = 65536) -> None:
    """Read a short answer to the end so keep-alive reuses the connection; a long one is cut."""
    read = 0
    try:
        for chunk in response.iter_content(16384):
            read += len(chunk)
            if read > limit:
                return
    except requests.RequestException:
        return


def build(channel: Channel) -> WebhookSender:
    return WebhookSender(channel)
