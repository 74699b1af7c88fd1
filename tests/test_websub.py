"""WebSub end to end against a local hub: discovery, subscription, verification of intent
on the web service's real callback, signed pushes into the pipeline, renewal, unsubscription.
Everything runs on 127.0.0.1: site, hub, `newswatch web` (waitress), webhook receiver."""

from __future__ import annotations

import base64
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from servers import HTTPServer, free_port, wait_for
from websub_hub import LocalHub

from worker.config import load_config
from worker.embedded import EmbeddedDispatcher
from worker.fetch import FetchResponse
from worker.runtime import Runtime
from worker.schedule import tick
from worker.store import SUB_ACTIVE, SUB_DISCOVERED, SUB_SUBSCRIBING, Subscription
from worker.web import create_app
from worker.websub import polling_interval
from worker.websub.callback import signature_valid
from worker.websub.discovery import advertised_hub

ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(site: str, hub: str | None, entries: list[tuple[str, str]]) -> bytes:
    """An Atom feed of (slug, title) entries that advertises `hub`."""
    items = "".join(
        f"<entry><id>{site}/{slug}</id><title>{title}</title><link href='{site}/{slug}'/>"
        f"<updated>2026-12-01T10:00:00Z</updated><summary>{title}.</summary></entry>"
        for slug, title in entries)
    hub_link = f"<link rel='hub' href='{hub}'/>" if hub else ""
    return (f"<?xml version='1.0'?><feed xmlns='{ATOM}'><title>Blog</title><id>{site}/</id>"
            f"<updated>2026-12-01T10:00:00Z</updated>{hub_link}<link rel='self' href='{site}/feed'/>"
            f"{items}</feed>").encode()


def response(body: bytes, url: str = "http://site.test/feed", **headers: str) -> FetchResponse:
    return FetchResponse(url=url, status=200, headers=headers, body=body, not_modified=False,
                         etag=None, last_modified=None, elapsed_ms=0,
                         content_type="application/atom+xml", max_age=None, retry_after=None)


def stepping(world: World, condition, what: str):
    """Run the worker's tick and due jobs until `condition()` holds."""
    return wait_for(lambda: (world.step(), condition())[1], timeout=20, interval=0.02, what=what)


# --------------------------------------------------------------------------- discovery


def test_the_hub_comes_from_the_link_header_first_then_from_the_feed():
    body = atom_feed("http://site.test", "http://hub.test/", [("a", "A")])
    found = advertised_hub(response(body))
    assert (found.hub, found.topic) == ("http://hub.test/", "http://site.test/feed")
    headed = response(body, link='<https://push.test/hub>; rel="hub", </feed?x=1>; rel="self"')
    found = advertised_hub(headed)
    assert (found.hub, found.topic) == ("https://push.test/hub", "http://site.test/feed?x=1")
    assert advertised_hub(response(atom_feed("http://site.test", None, [("a", "A")]))) is None


def test_rss_atom_links_and_json_feed_hubs_are_found():
    rss = (b"<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'>"
           b"<channel><title>T</title><link>http://site.test/</link>"
           b"<atom:link rel='hub' href='http://hub.test/'/>"
           b"<item><title>x</title><link>http://site.test/x</link>"
           b"<atom:link rel='hub' href='http://late.test/'/></item></channel></rss>")
    found = advertised_hub(response(rss, url="http://site.test/rss"))
    # No self link: the topic is the URL fetched. Links inside items are not the feed's.
    assert (found.hub, found.topic) == ("http://hub.test/", "http://site.test/rss")
    json_feed = (b'{"version": "https://jsonfeed.org/version/1.1", "title": "T", '
                 b'"feed_url": "http://site.test/feed.json", '
                 b'"hubs": [{"type": "rssCloud", "url": "http://cloud.test/"}, '
                 b'{"type": "WebSub", "url": "http://hub.test/"}], "items": []}')
    found = advertised_hub(response(json_feed, url="http://site.test/j"))
    assert (found.hub, found.topic) == ("http://hub.test/", "http://site.test/feed.json")


@pytest.mark.parametrize("body", [b"", b"<feed", b"\x00\xff" * 50, b"<rss><channel><atom:link "
                                  b"rel='hub' href='javascript:alert(1)'/></channel></rss>"])
def test_broken_or_hostile_heads_advertise_nothing(body):
    assert advertised_hub(response(body)) is None


# --------------------------------------------------------------------------- signatures


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_signature_methods(method):
    import hashlib
    import hmac

    digest = hmac.new(b"k3y", b"body", getattr(hashlib, method)).hexdigest()
    assert signature_valid("k3y", f"{method}={digest}", b"body")
    assert not signature_valid("k3y", f"{method}={digest}", b"body!")
    assert not signature_valid("other", f"{method}={digest}", b"body")
    assert not signature_valid("k3y", f"md5={digest}", b"body")
    assert not signature_valid("k3y", None, b"body")
    assert not signature_valid("", f"{method}={digest}", b"body")


# --------------------------------------------------------------------------- the callback alone


@pytest.fixture
def callback_app(tmp_path):
    (tmp_path / "newswatch.yaml").write_text(yaml.safe_dump({
        "sources": [{"id": "blog", "url": "http://site.test/feed"}],
        "settings": {"state_path": str(tmp_path / "state.db"), "public_url": "http://127.0.0.1:9",
                     "websub_max_body": 1000, "web_password": "pw"},
    }))
    config = load_config(tmp_path)
    app = create_app(config)
    store = app.config["sources"].store
    sub = Subscription("blog", hub="http://hub.test/", topic="http://site.test/feed",
                       state=SUB_SUBSCRIBING, callback="http://127.0.0.1:9/websub/blog",
                       secret="s" * 64)
    store.put_subscription(sub, replaces=None)
    yield app.test_client(), store
    app.config["websub_pushes"].close()


def _challenge(client, topic="http://site.test/feed", lease="3600", mode="subscribe", source="blog"):
    query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": "c-123"}
    if lease is not None:
        query["hub.lease_seconds"] = lease
    return client.get(f"/websub/{source}", query_string=query)


def test_verification_echoes_only_for_the_subscription_asked_for(callback_app):
    client, store = callback_app
    assert _challenge(client, topic="http://elsewhere.test/feed").status_code == 404
    assert _challenge(client, source="nope").status_code == 404
    assert _challenge(client, mode="unsubscribe").status_code == 404  # we asked to subscribe
    assert _challenge(client, lease="0").status_code == 404  # a zero lease is refused
    assert _challenge(client, lease=None).status_code == 404
    assert store.subscription("blog").state == SUB_SUBSCRIBING
    answer = _challenge(client)  # no password asked: hubs cannot log in
    assert (answer.status_code, answer.get_data()) == (200, b"c-123")
    sub = store.subscription("blog")
    assert sub.state == SUB_ACTIVE and sub.lease_seconds == 3600
    assert 3500 < sub.expires_at - time.time() <= 3600
    assert sub.expires_at - 86400 < sub.check_at < sub.expires_at  # renewed before it ends
    assert client.get("/").status_code == 401  # the status page still needs the password
    page = client.get("/", headers={"Authorization": "Basic " + base64.b64encode(b"newswatch:pw").decode()})
    assert page.status_code == 200 and "live until" in page.get_data(as_text=True)


def test_pushes_need_a_live_subscription_and_a_bounded_body(callback_app):
    client, _ = callback_app
    assert client.post("/websub/blog", data=b"<feed/>").status_code == 410  # not verified yet
    assert client.post("/websub/nope", data=b"<feed/>").status_code == 410
    _challenge(client)
    big = client.post("/websub/blog", data=b"x" * 5000, headers={"X-Hub-Signature": "sha1=00"})
    assert big.status_code == 413
    unsigned = client.post("/websub/blog", data=b"<feed/>")
    assert unsigned.status_code == 202  # acknowledged, and dropped (see the scenario below)


# --------------------------------------------------------------------------- the whole path


class World:
    """Site, hub, webhook receiver and `newswatch web` on loopback; the worker in-process."""

    def __init__(self, folder: Path, redis_url: str = "") -> None:
        self.folder = folder
        self.redis_url = redis_url
        self.site = HTTPServer().start()
        self.hub = LocalHub().start()
        self.receiver = HTTPServer().start()
        self.receiver.routes["/hook"] = (200, {"Content-Type": "text/plain"}, b"ok")
        self.web_port = free_port()
        self.base = f"http://127.0.0.1:{self.site.port}"
        self.topic = f"{self.base}/feed"
        self.entries = [("old", "Harga cabai naik")]
        self.serve_feed()
        self.write_config()
        self.config = load_config(folder)
        self.dispatcher = EmbeddedDispatcher(threads=2)
        self.rt = Runtime(self.config, self.dispatcher, config_path=str(folder))
        self.dispatcher.runtime = self.rt
        from waitress.server import create_server

        self.app = create_app(self.config, config_path=str(folder))
        self.web = create_server(self.app, host="127.0.0.1", port=self.web_port, threads=4)
        # Its loop notices close() when a select times out (1 s by default, an int setting).
        self.web.adj.asyncore_loop_timeout = 0.05
        self.closing = False
        self.web_thread = threading.Thread(target=self._serve, daemon=True)
        self.web_thread.start()

    def serve_feed(self) -> None:
        self.site.routes["/feed"] = (200, {"Content-Type": "application/atom+xml"},
                                     atom_feed(self.base, self.hub.url, self.entries))

    def write_config(self, **source: object) -> None:
        sources = [] if source.get("removed") else [
            {"id": "blog", "url": self.topic, "every": "5m", **source}]
        (self.folder / "newswatch.yaml").write_text(yaml.safe_dump({
            "sources": sources,
            "topics": [{"id": "armenia", "query": "armenia", "channels": ["hook"]}],
            "channels": [{"id": "hook", "type": "webhook", "url": self.receiver.url("/hook"),
                          "retry": {"backoff": "1s", "max_backoff": "2s", "max_age": "1h"}}],
            "settings": {"state_path": str(self.folder / "state.db"), "redis_url": self.redis_url,
                         "tick_every": "1s",
                         "allow_private_networks": True, "fetch_timeout": "5s",
                         "per_host_interval": 0, "public_url": f"http://127.0.0.1:{self.web_port}",
                         "websub_poll_every": "2h"},
        }))

    def step(self) -> None:
        tick(self.rt, cycle_line=False)
        self.dispatcher.run_due()

    def idle(self) -> bool:
        runner = self.app.config["websub_pushes"]._target
        return not self.dispatcher.busy() and (runner is None or not runner.dispatcher.busy())

    def sub(self) -> Subscription | None:
        return self.rt.store.subscription("blog")

    def alerts(self) -> list[bytes]:
        return [r.body for r in self.receiver.requests if r.path == "/hook" and r.method == "POST"]

    def _serve(self) -> None:
        try:
            self.web.run()
        except OSError:
            # close() from the test's thread pulls the socket from under the server's select:
            # the end of the test, not a failure.
            if not self.closing:
                raise

    def close(self) -> None:
        self.closing = True
        self.web.close()
        self.web_thread.join(timeout=10)
        self.app.config["websub_pushes"].close()
        self.app.config["sources"].close()
        self.dispatcher.shutdown()
        self.rt.close()
        for server in (self.site, self.hub, self.receiver):
            server.stop()


@pytest.fixture
def world(tmp_path):
    created = World(tmp_path)
    yield created
    created.close()


def test_subscribe_verify_push_once_renew_and_unsubscribe(world):
    hub = world.hub
    # The first poll finds the hub; the next tick subscribes; the hub verifies on the callback.
    stepping(world, lambda: world.sub() is not None and world.sub().state == SUB_ACTIVE
             and world.topic in hub.subscribers, "an active subscription")
    request = hub.requests[0]
    assert request["hub.mode"] == "subscribe" and request["hub.topic"] == world.topic
    assert request["hub.callback"] == f"http://127.0.0.1:{world.web_port}/websub/blog"
    assert request["hub.lease_seconds"] == str(10 * 86400) and len(request["hub.secret"]) == 64
    assert hub.verifications[0].echoed
    assert hub.subscribers[world.topic][1] == world.sub().secret
    assert world.alerts() == []  # the polled entry is off topic
    source = world.config.source("blog")
    assert polling_interval(world.rt, source, None, 300.0) == 7200.0  # a safety net only

    # A challenge for a topic this callback never asked for is refused.
    status, echoed = hub.challenge(request["hub.callback"], "subscribe", f"{world.base}/other")
    assert (status, echoed) == (404, False)

    # A signed push alerts once; a tampered one is acknowledged and dropped.
    world.entries.append(("pushed", "Armenia and Azerbaijan sign"))
    pushed = atom_feed(world.base, hub.url, world.entries[-1:])
    tampered = atom_feed(world.base, hub.url, [("forged", "Armenia forged story")])
    assert hub.publish(world.topic, tampered, tamper=True) == 202
    assert hub.publish(world.topic, pushed, method="sha512") == 202
    wait_for(lambda: len(world.alerts()) >= 1, what="the pushed entry's alert")
    wait_for(world.idle, what="the push runner to finish")
    assert len(world.alerts()) == 1
    assert b"/pushed" in world.alerts()[0] and b"forged" not in world.alerts()[0]

    # The site's feed now lists the pushed entry too: the next poll does not alert it again.
    world.serve_feed()
    polled_before = world.rt.store.source_state("blog").last_poll
    world.rt.store.schedule("blog", 0.0)
    stepping(world, lambda: (world.rt.store.source_state("blog").last_poll or 0) > polled_before,
             "the safety-net poll")
    wait_for(world.idle, what="the poll to finish")
    assert world.rt.store.source_state("blog").new == 0 and len(world.alerts()) == 1
    due_in = world.rt.store.scheduled()["blog"] - time.time()
    assert 7000 < due_in <= 7200  # relaxed to websub_poll_every while the hub pushes

    # Renewal: when its time comes, the same secret is asked for again and verified.
    before = world.sub()
    world.rt.store.put_subscription(before.but(check_at=time.time() - 1), replaces=before.revision)
    stepping(world, lambda: len(hub.requests) >= 2 and world.sub().state == SUB_ACTIVE
             and world.sub().expires_at > before.expires_at, "the renewal")
    assert hub.requests[1]["hub.mode"] == "subscribe"
    assert hub.requests[1]["hub.secret"] == before.secret == world.sub().secret

    # websub: false unsubscribes; the record stays (the source is still polled).
    world.write_config(websub=False)
    assert world.rt.reload_if_changed(every=0)
    stepping(world, lambda: world.sub().state == SUB_DISCOVERED and world.sub().check_at is None
             and world.topic not in hub.subscribers, "the unsubscription")
    assert hub.requests[-1]["hub.mode"] == "unsubscribe"
    assert hub.verifications[-1].mode == "unsubscribe" and hub.verifications[-1].echoed
    assert world.topic not in hub.subscribers
    late = urllib.request.Request(request["hub.callback"], data=pushed, method="POST")
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(late, timeout=10)
    assert gone.value.code == 410  # no live subscription: the hub may drop it
    gone.value.close()

    # A removed source's record goes.
    world.write_config(removed=True)
    assert world.rt.reload_if_changed(every=0)
    stepping(world, lambda: world.sub() is None, "the record of a removed source to go")


def test_a_hub_that_refuses_is_retried_later_and_polling_stays_as_it_was(world):
    world.hub.server.routes["/hub"] = (500, {"Content-Type": "text/plain"}, b"down")
    stepping(world, lambda: world.sub() is not None and world.sub().failures == 1,
             "the refused subscription")
    sub = world.sub()
    assert sub.state == SUB_DISCOVERED and sub.last_error == "hub refused subscribe: http 500"
    assert 250 < sub.check_at - time.time() <= 300  # backing off
    assert polling_interval(world.rt, world.config.source("blog"), None, 300.0) == 300.0


def test_push_job_reads_base64_bodies_like_a_poll(world):
    # The job the web service hands out, run directly: garbage is one error, not a crash.
    from worker.websub.push import receive_push

    bad = receive_push(world.rt, "blog", base64.b64encode(b"<html>no</html>").decode(), None,
                       world.topic)
    assert bad.status == "error" and bad.error.startswith("bad push")
    assert receive_push(world.rt, "gone", "", None, world.topic).status == "skipped"


def test_distributed_the_web_service_hands_pushes_to_the_celery_workers(
        tmp_path, redis_url, celery_bin):
    """Worker and beat as compose runs them: beat's tick finds and subscribes the hub, the
    hub verifies on `newswatch web`, which hands the push to a worker, which alerts."""
    from helpers import subprocess_env
    from processes import CeleryProcesses

    world = World(tmp_path, redis_url=redis_url)
    processes = CeleryProcesses(celery_bin, subprocess_env(NEWSWATCH_CONFIG=str(tmp_path)), tmp_path)
    try:
        processes.worker("worker", concurrency=2)
        processes.beat()
        wait_for(lambda: world.topic in world.hub.subscribers, timeout=90,
                 what="the workers' subscription, verified on the callback")
        assert world.sub().state == SUB_ACTIVE
        world.entries.append(("pushed", "Armenia and Azerbaijan sign"))
        assert world.hub.publish(world.topic, atom_feed(world.base, world.hub.url,
                                                        world.entries[-1:])) == 202
        wait_for(world.alerts, timeout=60, what="the pushed entry's alert from the worker")
        wait_for(lambda: "task=websub_push source=blog status=ok" in processes.log("worker"),
                 timeout=30, what="the push's summary line")
        assert len(world.alerts()) == 1 and b"/pushed" in world.alerts()[0]
        assert world.app.config["websub_pushes"]._target.__class__.__name__ == "CeleryHandOff"
    finally:
        processes.stop_all()
        world.close()


def test_a_hub_that_never_verifies_or_denies_costs_a_retry_later(world):
    world.hub.verifies = False
    # The record says "subscribing" before the request leaves: wait for the hub to have it.
    stepping(world, lambda: world.hub.requests and world.sub().state == SUB_SUBSCRIBING,
             "the subscription request")
    assert len(world.hub.requests) == 1
    # Its verification deadline passes: one failure, and a retry after a back-off.
    pending = world.sub()
    world.rt.store.put_subscription(pending.but(check_at=time.time() - 1), replaces=pending.revision)
    stepping(world, lambda: world.sub().failures == 1, "the verification timeout")
    sub = world.sub()
    assert sub.state == SUB_DISCOVERED and sub.secret == ""
    assert sub.last_error == "the hub never verified the subscription" and sub.check_at > time.time()
    # Retried: this time the hub denies it (§5.2), which is one more failure.
    world.rt.store.put_subscription(sub.but(check_at=time.time() - 1), replaces=sub.revision)
    stepping(world, lambda: len(world.hub.requests) == 2 and world.sub().state == SUB_SUBSCRIBING,
             "the second request")
    callback = world.hub.requests[1]["hub.callback"]
    query = {"hub.mode": "denied", "hub.topic": world.topic, "hub.reason": "not allowed"}
    with urllib.request.urlopen(f"{callback}?{urllib.parse.urlencode(query)}", timeout=10) as answer:
        assert answer.status == 200
    sub = world.sub()
    assert (sub.state, sub.failures, sub.last_error) == (SUB_DISCOVERED, 2, "denied by the hub: not allowed")
    assert 500 < sub.check_at - time.time() <= 600  # 5 min, doubled


def test_a_hub_on_a_private_address_is_refused_like_any_fetch():
    from worker.fetch import Fetcher, FetchError
    from worker.models import Settings

    with Fetcher(Settings()) as fetcher, pytest.raises(FetchError) as refused:
        fetcher.post_form("http://127.0.0.1:9/hub", {"hub.mode": "subscribe"})
    assert refused.value.reason == "blocked address 127.0.0.1"


def test_a_pushed_entry_of_a_full_text_source_is_read_from_its_page(world):
    from conftest import TESTS

    world.write_config(full_text=True)
    assert world.rt.reload_if_changed(every=0)
    page = (TESTS / "fixtures" / "kompas_article.html").read_bytes()
    world.site.routes["/berita"] = (200, {"Content-Type": "text/html; charset=utf-8"}, page)
    stepping(world, lambda: world.topic in world.hub.subscribers, "the subscription")
    # The feed's own text says nothing of the topic: only the page does.
    assert world.hub.publish(world.topic, atom_feed(world.base, world.hub.url,
                                                    [("berita", "Berita hari ini")])) == 202
    wait_for(world.alerts, what="the alert found in the pushed entry's page")
    assert any(r.path == "/berita" for r in world.site.requests)
    assert b"/berita" in world.alerts()[0]


def test_the_safety_net_is_max_every_unless_websub_poll_every_is_set(tmp_path):
    from types import SimpleNamespace

    from worker.websub import safety_net_every

    def net(source: dict, **settings) -> float:
        (tmp_path / "newswatch.yaml").write_text(yaml.safe_dump({
            "sources": [{"id": "blog", "url": "http://site.test/feed", **source}],
            "settings": {"state_path": str(tmp_path / "state.db"), **settings}}))
        config = load_config(tmp_path)
        return safety_net_every(SimpleNamespace(config=config), config.source("blog"))

    assert net({"every": "5m"}) == 1800.0  # max_every's default: every x 6
    assert net({"every": "5m", "max_every": "45m"}) == 2700.0
    assert net({"every": "5m"}, websub_poll_every="2h") == 7200.0
    assert net({"every": "3h"}, websub_poll_every="1h") == 10800.0  # never more often than every
