"""Apprise channel: a json:// URL against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json

import pytest
from servers import free_port, wait_for

from worker.alerts import build_sender, channel_option_problems
from worker.alerts.apprise import AppriseSender
from worker.alerts.sample import sample_alert
from worker.models import Channel


@pytest.fixture
def server(empty_server):
    empty_server.routes["/notify"] = (200, {"Content-Type": "application/json"}, b"{}")
    return empty_server


def apprise_sender(**options: object) -> AppriseSender:
    sender = build_sender(Channel(id="chat", type="apprise", options=options))
    assert isinstance(sender, AppriseSender)
    return sender


def test_alert_title_and_body_reach_the_service(server):
    url = f"json://127.0.0.1:{server.port}/notify"
    result = apprise_sender(url=url, timezone="Asia/Jakarta").send(sample_alert("chat"))
    assert result.ok, result.detail
    (request,) = wait_for(lambda: server.requests, timeout=10, what="the notification")
    assert request.method == "POST" and request.path == "/notify"
    body = json.loads(request.body)
    assert body["title"] == "[Armenia–Azerbaijan] PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert "Kompas.com" in body["message"]
    assert "2020-11-21 20:00 WIB" in body["message"] and "13:00 UTC" in body["message"]
    assert "https://www.kompas.com/global/read/2020/11/21/" in body["message"]


def test_several_urls_and_a_digest(server):
    urls = [f"json://127.0.0.1:{server.port}/notify", f"json://127.0.0.1:{server.port}/notify?a=b"]
    alert = sample_alert("chat")
    other = dataclasses.replace(alert, id="other")
    result = apprise_sender(urls=urls).send_digest([alert, other])
    assert result.ok, result.detail
    requests = wait_for(lambda: len(server.requests) == 2 and server.requests, timeout=10, what="two notifications")
    for request in requests:
        body = json.loads(request.body)
        assert body["title"] == "[newswatch] 2 new alerts: Armenia–Azerbaijan (2)"


def test_service_error_is_not_ok(server):
    server.routes["/notify"] = (500, {}, b"down")
    result = apprise_sender(url=f"json://127.0.0.1:{server.port}/notify").send(sample_alert("chat"))
    assert not result.ok and not result.permanent
    assert "apprise" in result.detail


def test_unreachable_service_is_not_ok():
    result = apprise_sender(url=f"json://127.0.0.1:{free_port()}/").send(sample_alert("chat"))
    assert not result.ok


def test_unsupported_url_is_permanent_and_not_echoed():
    result = apprise_sender(url="nosuchservice://tok3n-abc@host").send(sample_alert("chat"))
    assert not result.ok and result.permanent
    assert "tok3n" not in result.detail


def test_option_problems():
    assert channel_option_problems("apprise", {"url": "json://127.0.0.1:8000/"}) == []
    assert channel_option_problems("apprise", {"urls": ["ntfy://ntfy.sh/newswatch"]}) == []
    assert [key for key, _ in channel_option_problems("apprise", {})] == ["url"]
    problems = channel_option_problems("apprise", {"url": "nosuchservice://s3cret@x", "to": "a"})
    assert sorted(key for key, _ in problems) == ["to", "url"]
    assert all("s3cret" not in message for _, message in problems)
