"""Standard Webhooks: every delivery verifies with the `standardwebhooks` library, as a receiver would.

The receiver is a real HTTP hook_server on 127.0.0.1; the library sees only what arrived there
(body bytes and headers). A plain secret is a raw key (its UTF-8 bytes), which the library
takes as `Webhook(secret.encode())`; a `whsec_` secret is passed to it as is.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest
from processes import NewswatchRun
from scenario import hook_posts, kompas_source, write_config
from servers import HTTPServer, Request, wait_for
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import worker.alerts.webhook as webhook_module
from worker.alerts import build_sender, channel_option_problems
from worker.alerts.sample import sample_alert
from worker.models import Alert, Channel

PLAIN_SECRET = "s3cret-signing-key"
# What a Standard Webhooks provider generates: the prefix, then a base64 key of 24 bytes.
WHSEC_KEY = bytes(range(1, 25))
WHSEC_SECRET = "whsec_" + base64.b64encode(WHSEC_KEY).decode()
FAST_RETRY = {"backoff": "200ms", "max_backoff": "500ms", "max_age": "1h"}
WEBHOOKS_DOC = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"


def receiver_for(secret: str) -> Webhook:
    """How a receiver builds its verifier: whsec_ secrets as given, any other secret as raw bytes."""
    return Webhook(secret) if secret.startswith("whsec_") else Webhook(secret.encode("utf-8"))


def make_alert(alert_id: str = "alert-std-1") -> Alert:
    alert = sample_alert("ops-webhook")
    return dataclasses.replace(alert, id=alert_id, detected_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


def deliver(hook_server: HTTPServer, secret: str | None, alert: Alert) -> Request:
    options = {"url": hook_server.url("/hook"), **({"secret": secret} if secret else {})}
    sender = build_sender(Channel(id="ops-webhook", type="webhook", options=options))
    assert sender.send(alert).ok
    wait_for(lambda: hook_server.requests, timeout=10, what="the webhook request")
    assert len(hook_server.requests) == 1
    return hook_server.requests[0]


def lowered(request: Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


@pytest.mark.parametrize("secret", [PLAIN_SECRET, WHSEC_SECRET], ids=["plain", "whsec"])
def test_a_delivery_verifies_with_the_library_and_keeps_the_newswatch_headers(hook_server, secret):
    alert = make_alert()
    before = int(time.time())
    request = deliver(hook_server, secret, alert)
    after = int(time.time())
    headers = lowered(request)

    assert receiver_for(secret).verify(request.body, request.headers) == alert.payload()
    assert headers["webhook-id"] == headers["x-newswatch-delivery"] == alert.id
    # One instant, written once in both conventions.
    assert headers["webhook-timestamp"] == headers["x-newswatch-timestamp"]
    assert before <= int(headers["webhook-timestamp"]) <= after
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["x-newswatch-signature"].startswith("sha256=")
    assert headers["x-newswatch-event"] == "topic.match"


def test_a_plain_secret_is_not_a_base64_key(hook_server):
    """The library decodes a str secret as base64: a plain secret has to be given as bytes."""
    request = deliver(hook_server, PLAIN_SECRET, make_alert())
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(PLAIN_SECRET).verify(request.body, request.headers)
    receiver_for(PLAIN_SECRET).verify(request.body, request.headers)


@pytest.mark.parametrize("secret", [PLAIN_SECRET, WHSEC_SECRET], ids=["plain", "whsec"])
def test_a_tampered_body_or_a_wrong_key_is_rejected(hook_server, secret):
    request = deliver(hook_server, secret, make_alert())
    verifier = receiver_for(secret)
    payload = json.loads(request.body)
    payload["article"]["title"] = "Forged headline"
    forged = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verifier.verify(forged, request.headers)
    # The id and timestamp are signed too: moving the delivery to another id fails.
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verifier.verify(request.body, {**request.headers, "webhook-id": "another-alert"})
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(b"some other key").verify(request.body, request.headers)
    verifier.verify(request.body, request.headers)  # the untouched delivery still passes


@pytest.mark.parametrize("secret", [PLAIN_SECRET, WHSEC_SECRET], ids=["plain", "whsec"])
def test_a_stale_delivery_is_rejected_as_a_replay(hook_server, secret, monkeypatch):
    # A delivery signed an hour ago (the sender's clock set back) arrives now: correctly
    # signed, but outside the library's five-minute window.
    an_hour_ago = time.time() - 3600
    monkeypatch.setattr(webhook_module, "time", types.SimpleNamespace(time=lambda: an_hour_ago))
    request = deliver(hook_server, secret, make_alert())
    assert lowered(request)["webhook-timestamp"] == str(int(an_hour_ago))
    with pytest.raises(WebhookVerificationError, match="too old"):
        receiver_for(secret).verify(request.body, request.headers)


def test_no_secret_means_no_signature_but_the_id_and_timestamp(hook_server):
    request = deliver(hook_server, None, make_alert())
    headers = lowered(request)
    assert headers["webhook-id"] == "alert-std-1"
    assert headers["webhook-timestamp"] == headers["x-newswatch-timestamp"]
    assert "webhook-signature" not in headers and "x-newswatch-signature" not in headers
    with pytest.raises(WebhookVerificationError, match="Missing required headers"):
        receiver_for(PLAIN_SECRET).verify(request.body, request.headers)


def test_whsec_secrets_must_carry_a_base64_key_and_the_headers_are_ours():
    def problems(secret: str) -> list[str]:
        options = {"url": "https://h.example.org/", "secret": secret}
        return [key for key, _ in channel_option_problems("webhook", options)]

    assert problems(WHSEC_SECRET) == []
    assert problems(WHSEC_SECRET.rstrip("=")) == []  # unpadded, as some providers print it
    assert problems("whsec_") == ["secret"]
    assert problems("whsec_not base64!") == ["secret"]
    assert problems("plain secret, any text") == []
    reserved = channel_option_problems(
        "webhook", {"url": "https://h.example.org/", "headers": {"Webhook-Signature": "v1,x"}}
    )
    assert [key for key, _ in reserved] == ["headers"]


@pytest.mark.parametrize("secret", [PLAIN_SECRET, WHSEC_SECRET], ids=["plain", "whsec"])
def test_the_first_attempt_and_its_retry_both_verify(tmp_path, news_site, smtp, secret):
    """newswatch run: the receiver answers 500 once, the pipeline retries; both deliveries verify."""
    receiver = HTTPServer().start()
    answers = iter([500])
    receiver.routes["/hook"] = lambda _request: (next(answers, 200), {"Content-Type": "text/plain"}, b"-")
    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          retry=FAST_RETRY, tick_every="200ms")
    runner = NewswatchRun(config, tmp_path, TEST_WEBHOOK_SECRET=secret)
    try:
        wait_for(lambda: len(hook_posts(receiver)) >= 2, timeout=60, what="the retry after a 500")
    finally:
        assert runner.stop() == 0
        receiver.stop()
    first, retry = hook_posts(receiver)[:2]
    verifier = receiver_for(secret)
    payloads = [verifier.verify(post.body, post.headers) for post in (first, retry)]
    assert payloads[0] == payloads[1] and payloads[0]["event"] == "topic.match"
    first_headers, retry_headers = lowered(first), lowered(retry)
    assert first_headers["webhook-id"] == retry_headers["webhook-id"] == payloads[0]["id"]
    # Each attempt is signed afresh, so a retry is never rejected as stale.
    assert int(first_headers["webhook-timestamp"]) <= int(retry_headers["webhook-timestamp"])
    assert secret not in runner.log()


def test_the_receiver_code_in_the_docs_accepts_real_deliveries_and_refuses_forgeries(hook_server, monkeypatch):
    """docs/webhooks.md's Python blocks, run as written, on what the hook_server received."""
    blocks = re.findall(r"```python\n(.*?)```", WEBHOOKS_DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 2, "the verification helpers and the Flask receiver"
    monkeypatch.setenv("WEBHOOK_SECRET", WHSEC_SECRET)
    namespace: dict = {"__name__": "newswatch_docs_receiver"}  # Flask(__name__) needs a module name
    for block in blocks:
        exec(compile(block, str(WEBHOOKS_DOC), "exec"), namespace)
    request = deliver(hook_server, WHSEC_SECRET, make_alert("doc-alert"))

    namespace["verify_newswatch_signature"](WHSEC_SECRET, request.body, request.headers)
    with pytest.raises(ValueError, match="bad signature"):
        namespace["verify_newswatch_signature"](WHSEC_SECRET, request.body + b" ", request.headers)
    namespace["standard_verifier"](WHSEC_SECRET).verify(request.body, request.headers)

    client = namespace["app"].test_client()
    # Only the headers newswatch sent (the test client adds its own Host and length).
    sent = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
    assert client.post("/newswatch", data=request.body, headers=sent).status_code == 204
    assert namespace["handled"] == {"doc-alert"}
    assert client.post("/newswatch", data=request.body, headers=sent).status_code == 204  # a retry
    forged = request.body.replace(b"Armenia", b"Armenya", 1)
    assert forged != request.body
    assert client.post("/newswatch", data=forged, headers=sent).status_code == 401
