"""Exactly once with real Celery workers and a real Redis: crashes, races, restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
import redis
from helpers import run_newswatch, subprocess_env
from processes import CeleryProcesses
from scenario import AFP_TEXT, SECRET, hook_posts, wire_feed, write_config
from servers import HTTPServer, free_port, wait_for


@pytest.fixture
def celery(celery_bin, tmp_path):
    holder: dict[str, CeleryProcesses] = {}

    def make(config: Path) -> CeleryProcesses:
        env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(config))
        holder["c"] = CeleryProcesses(celery_bin, env, tmp_path)
        return holder["c"]

    yield make
    if "c" in holder:
        holder["c"].stop_all()


def answered(receiver: HTTPServer, status: int = 200) -> list[str]:
    return [r.headers["X-Newswatch-Delivery"] for r in receiver.answers if r.status == status]


class HoldingReceiver(HTTPServer):
    """A webhook receiver that can hold the first request open (a delivery in flight)."""

    def __init__(self, hold_first: bool = False) -> None:
        super().__init__()
        self.answers: list = []
        self.release = threading.Event()
        self.holding = threading.Event()
        self._hold_first = hold_first
        self.down = False  # answer 503, as a receiver in maintenance would
        self.routes["/hook"] = self._answer

    def _answer(self, request):
        if self.down:
            status = 503
        elif self._hold_first:
            self._hold_first = False
            self.holding.set()
            self.release.wait(60)
            status = 500  # whoever sent it is dead by now
        else:
            status = 200
        request.status = status
        self.answers.append(request)
        return status, {"Content-Type": "text/plain"}, b"-"


def one_story_site(feeds: int = 1) -> tuple[HTTPServer, list[dict]]:
    """`feeds` feeds on one local site, all listing the same AFP article."""
    site = HTTPServer().start()
    base = f"http://127.0.0.1:{site.port}"
    sources = []
    for index in range(feeds):
        site.routes[f"/feed{index}"] = (
            200, {"Content-Type": "application/rss+xml"},
            wire_feed(base, f"feed{index}", "Armenia dan Azerbaijan Sepakati Gencatan Senjata",
                      AFP_TEXT, link=f"{base}/global/read/afp-armenia"),
        )
        sources.append({"id": f"feed-{index}", "name": "Kompas.com", "url": f"{base}/feed{index}"})
    return site, sources


def wait_until_sent(redis_url: str, count: int) -> None:
    """Wait until the ledger in Redis counts `count` deliveries sent."""
    store = redis.Redis.from_url(redis_url)
    wait_for(lambda: int(store.hget("newswatch:deliveries:counts", "sent") or 0) == count,
             timeout=30, what=f"{count} deliveries sent")


def test_killed_worker_delivery_runs_again_exactly_once(tmp_path, smtp, redis_url, celery):
    site, sources = one_story_site()
    receiver = HoldingReceiver(hold_first=True).start()
    config = write_config(tmp_path / "config", sources, smtp, receiver, redis_url=redis_url,
                          tick_every="500ms", redelivery_after="2s",
                          retry={"backoff": "500ms", "max_backoff": "1s", "max_age": "1h"})
    run = celery(config)
    doomed = run.worker("doomed")
    run.beat()
    try:
        assert receiver.holding.wait(90), run.log("doomed")
        os.killpg(doomed.pid, signal.SIGKILL)  # the worker dies with the delivery in flight
        doomed.wait(10)
        receiver.release.set()
        run.worker("survivor")
        wait_for(lambda: answered(receiver), timeout=90, what="the redelivered webhook")
        wait_for(lambda: smtp.messages, timeout=30, what="the email")
        # the ledger must say sent, and nothing may be pending any more
        wait_until_sent(redis_url, 2)
    finally:
        run.stop_all()
        site.stop()
        receiver.stop()
    assert len(answered(receiver)) == 1, "the alert was answered 200 exactly once"
    assert len({m["Message-ID"] for m in smtp.messages}) == 1
    assert "task=deliver status=sent" in run.log("survivor")


def test_two_workers_racing_on_the_same_article_alert_once(tmp_path, smtp, redis_url, celery):
    site, sources = one_story_site(feeds=4)
    receiver = HoldingReceiver().start()
    config = write_config(tmp_path / "config", sources, smtp, receiver, redis_url=redis_url,
                          tick_every="500ms", per_host_interval="0s")
    run = celery(config)
    run.worker("one")
    run.worker("two")
    run.beat()
    try:
        wait_for(lambda: answered(receiver) and smtp.messages, timeout=90, what="the alerts")
        store = redis.Redis.from_url(redis_url)

        def all_polled():
            states = store.hgetall("newswatch:source_state")
            return len(states) == 4 and all(json.loads(v)["last_status"] for v in states.values())

        wait_for(all_polled, timeout=60, what="all four feeds polled")
        wait_until_sent(redis_url, 2)
    finally:
        run.stop_all()
        site.stop()
        receiver.stop()
    logs = run.log("one") + run.log("two")
    assert logs.count("task=poll_source") >= 4
    assert len(hook_posts(receiver)) == 1 and len(smtp.messages) == 1


@pytest.fixture
def aof_redis(tmp_path):
    """A Redis of our own with AOF on (fsync always), so it can be killed and restarted."""
    port = free_port()
    data = tmp_path / "redis-data"
    data.mkdir()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "yes", "--appendfsync", "always", "--dir", str(data)]
    processes: list[subprocess.Popen] = []

    def start() -> None:
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        client = redis.Redis(port=port)
        wait_for(lambda: _pings(client), timeout=20, what="redis-server to start")

    def crash() -> None:
        processes[-1].kill()  # SIGKILL: no clean shutdown, only what AOF already holds
        processes[-1].wait()

    start()
    yield f"redis://127.0.0.1:{port}/0", start, crash
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def test_redis_crash_between_poll_and_delivery_loses_nothing(tmp_path, smtp, aof_redis):
    url, start_redis, crash_redis = aof_redis
    site, sources = one_story_site()
    receiver = HoldingReceiver().start()
    receiver.down = True  # the webhook is down during the poll
    config = write_config(tmp_path / "config", sources, smtp, receiver, redis_url=url,
                          retry={"backoff": "200ms", "max_backoff": "500ms", "max_age": "1h"})
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET)
    try:
        first = run_newswatch(["once", "--config", str(config)], env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        assert "channel=ops-webhook" in first.stderr and "status=retry" in first.stderr
        crash_redis()
        start_redis()
        receiver.down = False

        def delivered() -> bool:
            again = run_newswatch(["once", "--config", str(config)], env, cwd=tmp_path)
            assert again.returncode == 0, again.stderr
            return bool(answered(receiver))

        wait_for(delivered, timeout=60, interval=0.3, what="the webhook after the Redis crash")
    finally:
        site.stop()
        receiver.stop()
    assert len(answered(receiver)) == 1 and len(smtp.messages) == 1


def syndicating_site(canonical_to_original: bool) -> tuple[HTTPServer, list[dict]]:
    """Three outlets, each with its own feed and full-text page of the same AFP story.

    With `canonical_to_original`, every copy names the first outlet's page as canonical
    (syndication done right, so all three are the same article); without, each page is
    its own article and only the text says they are one story (a near-duplicate).
    """
    site = HTTPServer().start()
    base = f"http://127.0.0.1:{site.port}"
    original = f"{base}/kompas/read/afp-armenia"
    sources = []
    for slug, name in (("kompas", "Kompas.com"), ("tempo", "Tempo.co"), ("antara", "ANTARA")):
        page_url = f"{base}/{slug}/read/afp-armenia"
        canonical = original if canonical_to_original else page_url
        page = (f'<html><head><title>Armenia dan Azerbaijan - {name}</title>'
                f'<link rel="canonical" href="{canonical}"></head><body><article>'
                f"<h1>Armenia dan Azerbaijan</h1><p>{AFP_TEXT}</p><p>({name})</p>"
                f"</article></body></html>").encode()
        site.routes[f"/{slug}/read/afp-armenia"] = (200, {"Content-Type": "text/html"}, page)
        site.routes[f"/{slug}/rss"] = (200, {"Content-Type": "application/rss+xml"},
                                       wire_feed(base, slug, "Armenia dan Azerbaijan", "AFP",
                                                 link=page_url))
        sources.append({"id": slug, "name": name, "url": f"{base}/{slug}/rss", "full_text": True})
    return site, sources


@pytest.mark.parametrize("canonical_to_original", [True, False])
def test_a_held_alert_names_the_outlets_seen_while_it_waited(tmp_path, smtp, redis_url, celery,
                                                             canonical_to_original):
    site, sources = syndicating_site(canonical_to_original)
    receiver = HoldingReceiver().start()
    config = write_config(tmp_path / "config", sources, smtp, receiver, redis_url=redis_url,
                          tick_every="500ms", per_host_interval="0s", near_duplicate_hold="4s")
    run = celery(config)
    run.worker("one", concurrency=2)
    run.beat()
    try:
        wait_for(lambda: answered(receiver) and smtp.messages, timeout=90, what="the alerts")
        wait_for(lambda: run.log("one").count("task=poll_source") >= 3, timeout=30,
                 what="all three polls")
    finally:
        run.stop_all()
        site.stop()
        receiver.stop()
    posts = answered(receiver)
    assert len(posts) == 1 and len(smtp.messages) == 1, run.log("one")
    payload = json.loads(receiver.answers[0].body)
    first = payload["article"]["source"]["name"]
    assert sorted(payload["also_reported_by"]) == sorted({"Kompas.com", "Tempo.co", "ANTARA"} - {first})
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Also reported by" in text and all(name in text for name in payload["also_reported_by"])
