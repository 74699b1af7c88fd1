"""Webhook channel against a real HTTP hook_server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import helpers
import pytest
from servers import HTTPServer, Request, free_port, wait_for

from worker.alerts import build_sender, channel_option_problems
from worker.alerts.render import digest_id
from worker.alerts.webhook import WebhookSender, sign
from worker.headers import retry_after_seconds
from worker.models import Alert, Channel

SECRET = "whsec-test-0123456789"
TOKEN = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX1"


make_alert = functools.partial(helpers.make_alert, channel="ops-webhook")


def other_topic(alert: Alert, alert_id: str) -> Alert:
    topic = dataclasses.replace(alert.topic, id="south-caucasus", name="South Caucasus")
    match = dataclasses.replace(alert.match, topic_id=topic.id)
    return dataclasses.replace(alert, id=alert_id, topic=topic, match=match)


def webhook(url: str, **options: object) -> WebhookSender:
    sender = build_sender(Channel(id="ops-webhook", type="webhook", options={"url": url, **options}))
    assert isinstance(sender, WebhookSender)
    return sender


def only_request(hook_server: HTTPServer) -> Request:
    wait_for(lambda: hook_server.requests, timeout=10, what="the webhook request")
    assert len(hook_server.requests) == 1
    return hook_server.requests[0]


def test_json_payload_headers_and_signature(hook_server):
    alert = make_alert()
    before = int(time.time())
    result = webhook(hook_server.url("/hook"), secret=SECRET).send(alert)
    after = int(time.time())

    assert result.ok and not result.permanent
    assert result.detail == "http=200 host=127.0.0.1"
    request = only_request(hook_server)
    assert request.method == "POST"
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-newswatch-event"] == "topic.match"
    assert headers["x-newswatch-delivery"] == "alert-1"
    timestamp = headers["x-newswatch-timestamp"]
    assert before <= int(timestamp) <= after

    # The signature covers "<timestamp>.<exact body bytes>".
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert headers["x-newswatch-signature"] == "sha256=" + expected.hexdigest()
    assert hmac.compare_digest(headers["x-newswatch-signature"], sign(SECRET, timestamp, request.body))

    body = json.loads(request.body)
    assert body == alert.payload()
    # The shape of SPEC, exactly.
    assert list(body) == ["event", "version", "id", "topic", "article", "match", "also_reported_by", "detected_at"]
    assert body["event"] == "topic.match" and body["version"] == 1 and body["id"] == "alert-1"
    assert body["topic"] == {"id": "armenia-azerbaijan", "name": "Armenia–Azerbaijan"}
    assert set(body["article"]) == {
        "id",
        "url",
        "canonical_url",
        "title",
        "authors",
        "published",
        "source",
        "language",
        "summary",
        "text",
    }
    assert body["article"]["published"] == "2020-11-21T13:00:00Z"
    assert body["article"]["authors"] == ["Ardi Priyatno Utomo"]
    assert body["article"]["source"] == {"id": "kompas-global", "name": "Kompas.com", "domain": "kompas.com"}
    assert set(body["match"]) == {"score", "terms", "snippets"}
    assert body["match"]["score"] == 3.0
    assert body["also_reported_by"] == []
    assert body["detected_at"] == "2026-11-25T12:00:00Z"


def test_signature_is_absent_without_secret_and_tampering_breaks_it(hook_server):
    webhook(hook_server.url("/hook")).send(make_alert())
    request = only_request(hook_server)
    assert not any(name.lower() == "x-newswatch-signature" for name in request.headers)
    signature = sign(SECRET, "1700000000", b'{"a":1}')
    assert signature != sign(SECRET, "1700000000", b'{"a":2}')
    assert signature != sign(SECRET, "1700000001", b'{"a":1}')


def test_custom_headers_are_sent_but_cannot_replace_ours(hook_server):
    webhook(hook_server.url("/hook"), headers={"Authorization": "Bearer abc"}).send(make_alert())
    request = only_request(hook_server)
    assert request.headers["Authorization"] == "Bearer abc"
    problems = channel_option_problems(
        "webhook", {"url": "https://h.example.org/x", "headers": {"X-Newswatch-Signature": "x"}}
    )
    assert [key for key, _ in problems] == ["headers"]


def test_same_alert_is_the_same_delivery_on_retry(hook_server):
    sender = webhook(hook_server.url("/hook"))
    alert = make_alert("stable-id")
    sender.send(alert)
    sender.send(alert)
    wait_for(lambda: len(hook_server.requests) == 2, timeout=10, what="two requests")
    first, second = hook_server.requests
    assert first.headers["X-Newswatch-Delivery"] == second.headers["X-Newswatch-Delivery"] == "stable-id"
    assert json.loads(first.body) == json.loads(second.body)


def test_slack_format(hook_server):
    alert = make_alert(title="Pashinyan <!channel> & Aliyev talk | Baku")
    result = webhook(hook_server.url("/hook"), format="slack").send(alert)
    assert result.ok
    body = json.loads(only_request(hook_server).body)
    assert set(body) == {"text", "blocks"}
    assert isinstance(body["text"], str) and "Armenia–Azerbaijan" in body["text"]
    types = [block["type"] for block in body["blocks"]]
    assert types[0] == "header" and "section" in types and types[-1] == "context"
    everything = json.dumps(body, ensure_ascii=False)
    # Article text cannot ping the channel nor forge a link.
    assert "<!channel>" not in everything and "&lt;!channel&gt;" in everything
    title_block = body["blocks"][1]["text"]["text"]
    assert title_block.startswith("*<https://www.kompas.com/")
    assert "|Pashinyan &lt;!channel&gt; &amp; Aliyev talk ∣ Baku>*" in title_block
    snippets = body["blocks"][2]["text"]["text"]
    assert "*Armenia*" in snippets and "*Azerbaijan*" in snippets


def test_discord_format(hook_server):
    alert = make_alert(title="@everyone **Armenia** news")
    result = webhook(hook_server.url("/hook"), format="discord", timezone="Asia/Jakarta").send(alert)
    assert result.ok
    body = json.loads(only_request(hook_server).body)
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert embed["title"] == "@everyone **Armenia** news"  # embed titles are not markdown
    assert embed["url"].startswith("https://www.kompas.com/")
    assert embed["timestamp"] == "2020-11-21T13:00:00Z"
    assert embed["author"] == {"name": "Kompas.com"}
    assert "**Armenia**" in embed["description"]
    published = next(field for field in embed["fields"] if field["name"] == "Published")
    assert "20:00 WIB" in published["value"] and "13:00 UTC" in published["value"]


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_server_errors_are_retryable(hook_server, status):
    hook_server.routes["/hook"] = (status, {}, b"try later")
    result = webhook(hook_server.url("/hook")).send(make_alert())
    assert not result.ok and not result.permanent
    assert result.detail.startswith(f"http={status}")


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_client_errors_are_permanent(hook_server, status):
    hook_server.routes["/hook"] = (status, {}, b"gone")
    result = webhook(hook_server.url("/hook")).send(make_alert())
    assert not result.ok and result.permanent
    assert result.detail.startswith(f"http={status}")


def test_429_retry_after_seconds(hook_server):
    hook_server.routes["/hook"] = (429, {"Retry-After": "7"}, b"slow down")
    result = webhook(hook_server.url("/hook")).send(make_alert())
    assert not result.ok and not result.permanent
    assert result.retry_after == 7.0


def test_503_retry_after_http_date(hook_server):
    when = datetime.now(UTC) + timedelta(seconds=120)
    hook_server.routes["/hook"] = (503, {"Retry-After": format_datetime(when, usegmt=True)}, b"")
    result = webhook(hook_server.url("/hook")).send(make_alert())
    assert not result.ok and not result.permanent
    assert result.retry_after is not None and 100 <= result.retry_after <= 121


def test_retry_after_parsing():
    now = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("30", now) == 30.0
    assert retry_after_seconds("Wed, 25 Nov 2026 00:01:00 GMT", now) == 60.0
    assert retry_after_seconds("Tue, 24 Nov 2026 00:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_redirect_is_not_followed(hook_server):
    hook_server.routes["/hook"] = (302, {"Location": hook_server.url("/elsewhere")}, b"")
    result = webhook(hook_server.url("/hook")).send(make_alert())
    assert not result.ok and result.permanent
    assert [request.path for request in hook_server.requests] == ["/hook"]


def test_timeout_is_retryable_and_names_host_only(hook_server):
    release = threading.Event()

    def stall(request: Request):
        release.wait(timeout=10)  # held until the client has given up
        return 200, {}, b"late"

    hook_server.routes[f"/hooks/{TOKEN}"] = stall
    try:
        result = webhook(hook_server.url(f"/hooks/{TOKEN}?token=s3cr3t-query"), timeout=0.3).send(make_alert())
    finally:
        release.set()
    assert not result.ok and not result.permanent
    assert "timed out" in result.detail and "127.0.0.1" in result.detail
    assert TOKEN not in result.detail and "s3cr3t" not in result.detail and "/hooks" not in result.detail


def test_connection_refused_is_retryable_and_names_host_only():
    url = f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"
    result = webhook(url).send(make_alert())
    assert not result.ok and not result.permanent
    assert result.detail == "webhook: connection failed (127.0.0.1)"


def test_digest_is_one_post_grouped_by_topic(hook_server):
    first = make_alert("a-1")
    second = other_topic(make_alert(), "b-1")
    third = make_alert("a-2", title="Baku and Yerevan sign a border protocol")
    sender = webhook(hook_server.url("/hook"), secret=SECRET)
    result = sender.send_digest([first, second, third])
    assert result.ok
    request = only_request(hook_server)
    assert request.headers["X-Newswatch-Event"] == "topic.digest"
    assert request.headers["X-Newswatch-Delivery"] == digest_id([third, second, first])
    timestamp = request.headers["X-Newswatch-Timestamp"]
    assert request.headers["X-Newswatch-Signature"] == sign(SECRET, timestamp, request.body)
    body = json.loads(request.body)
    assert body["event"] == "topic.digest" and body["version"] == 1 and body["count"] == 3
    assert [group["topic"]["id"] for group in body["topics"]] == ["armenia-azerbaijan", "south-caucasus"]
    ids = [[payload["id"] for payload in group["alerts"]] for group in body["topics"]]
    assert sorted(ids[0]) == ["a-1", "a-2"] and ids[1] == ["b-1"]
    assert body["topics"][1]["alerts"][0] == second.payload()


def test_digest_in_slack_and_discord_shapes(hook_server):
    alerts = [make_alert("a-1"), other_topic(make_alert(), "b-1")]
    assert webhook(hook_server.url("/hook"), format="slack").send_digest(alerts).ok
    assert webhook(hook_server.url("/hook"), format="discord").send_digest(alerts).ok
    wait_for(lambda: len(hook_server.requests) == 2, timeout=10, what="two digests")
    slack, discord = (json.loads(request.body) for request in hook_server.requests)
    assert "2 new alerts" in slack["text"] and len(slack["blocks"]) == 5
    assert [embed["title"] for embed in discord["embeds"]] == ["Armenia–Azerbaijan (1)", "South Caucasus (1)"]


def test_empty_digest_sends_nothing(hook_server):
    result = webhook(hook_server.url("/hook")).send_digest([])
    assert result.ok
    assert hook_server.requests == []


def test_option_problems():
    assert (
        channel_option_problems(
            "webhook", {"url": "https://hooks.example.org/x", "secret": "s", "format": "slack", "timeout": "5s"}
        )
        == []
    )
    problems = dict(
        channel_option_problems(
            "webhook", {"url": "ftp://x", "format": "xml", "timeout": -1, "colour": "red", "timezone": "Mars/Olympus"}
        )
    )
    assert set(problems) == {"url", "format", "timeout", "colour", "timezone"}
    assert "unknown key" in problems["colour"]
    assert [key for key, _ in channel_option_problems("webhook", {})] == ["url"]
    # Generic keys belong to the config loader.
    assert (
        channel_option_problems(
            "webhook", {"url": "http://h.example.org/", "mode": "digest", "every": "1h", "retry": {}}
        )
        == []
    )
    assert [key for key, _ in channel_option_problems("pager", {})] == ["type"]
