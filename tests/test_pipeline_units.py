"""Pure pieces of the pipeline: poll intervals, retry delays, digest times."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from helpers import DropJobs, RecordingDispatcher

from worker.delivery import retry_delay
from worker.models import Channel
from worker.poll import MAX_SOURCE_BACKOFF, next_poll_interval
from worker.schedule import next_digest_at


def test_poll_interval_backs_off_and_honours_the_server():
    assert next_poll_interval(300, failures=0, server_wait=0) == 300
    assert next_poll_interval(300, failures=1, server_wait=0) == 300
    assert next_poll_interval(300, failures=3, server_wait=0) == 1200
    assert next_poll_interval(300, failures=50, server_wait=0) == MAX_SOURCE_BACKOFF
    assert next_poll_interval(300, failures=0, server_wait=900) == 900  # max-age / Retry-After
    assert next_poll_interval(300, failures=0, server_wait=10 * 86400) == 86400


def test_retry_delay_grows_with_jitter_and_respects_retry_after():
    delays = [retry_delay(30, 3600, attempt) for attempt in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(3600, 30 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert retry_delay(30, 3600, 1, retry_after=600) >= 600
    assert retry_delay(30, 3600, 1, retry_after=10**6) <= 3600


def test_daily_digest_time_in_the_channel_zone():
    channel = Channel("d", "email", {"timezone": "Asia/Jakarta"}, mode="digest", at="08:00")
    now = datetime(2026, 11, 25, 23, 0, tzinfo=UTC).timestamp()  # 06:00 in Jakarta
    assert datetime.fromtimestamp(next_digest_at(channel, now), UTC) == datetime(
        2026, 11, 26, 1, 0, tzinfo=UTC)
    hourly = Channel("h", "webhook", {}, mode="digest", every=3600)
    now = time.time()
    assert next_digest_at(hourly, now) == now + 3600


def test_one_failing_entry_is_logged_and_retried_and_the_others_still_alert(tmp_path, caplog):
    from scenario import AFP_TEXT, wire_feed
    from servers import HTTPServer

    from worker import poll
    from worker.models import Config, Settings, Source, Topic
    from worker.runtime import Runtime
    from worker.topics import compile_topics

    site = HTTPServer().start()
    base = f"http://127.0.0.1:{site.port}"
    first = wire_feed(base, "a", "Armenia dan Azerbaijan", AFP_TEXT).decode()
    second = wire_feed(base, "b", "Bom waktu", AFP_TEXT.replace("Rusia", "Prancis")).decode()
    items = first[first.index("<item>"):first.index("</item>") + 7] + \
        second[second.index("<item>"):second.index("</item>") + 7]
    feed = first.replace(first[first.index("<item>"):first.index("</item>") + 7], items)
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, feed.encode())
    topic = Topic("t", "T", "armenia AND azerbaijan", channels=("hook",))
    config = Config((Source("s", f"{base}/feed"),), (topic,),
                    (Channel("hook", "webhook", {"url": f"{base}/hook"}),),
                    Settings(state_path=str(tmp_path / "s.db"), allow_private_networks=True,
                             per_host_interval=0.0))

    runtime = Runtime(config, RecordingDispatcher())
    real = compile_topics(config.topics)

    class Flaky:  # a matcher bug that only one article triggers
        def scan(self, article):
            return real.scan(article)

        def match(self, article, scan=None):
            if article.title == "Bom waktu":
                raise RuntimeError("matcher bug")
            return real.match(article, scan)

    runtime.__dict__["topic_index"] = Flaky()
    try:
        result = poll.poll_source(runtime, "s")
        assert (result.status, result.new, result.alerts, result.entry_errors) == ("ok", 1, 1, 1)
        assert [job for job, _, _ in runtime.dispatcher.jobs] == ["deliver"], "the good entry's alert goes out"
        assert "task=process_entry source=s" in caplog.text and "matcher bug" in caplog.text
        # the very same body: unchanged bodies are skipped, but not after an entry failed
        again = poll.poll_source(runtime, "s")
        assert again.entry_errors == 1, "the failed entry is tried again on the next poll"
        assert again.new == 0 and again.alerts == 0
    finally:
        runtime.close()
        site.stop()


def test_a_poll_claimed_again_while_queued_runs_only_once(tmp_path):
    from servers import HTTPServer

    from worker import poll
    from worker.models import Config, Settings, Source
    from worker.runtime import Runtime

    site = HTTPServer().start()
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"},
                            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                            b"</channel></rss>")
    config = Config((Source("s", site.url("/feed")),), (), (),
                    Settings(state_path=str(tmp_path / "s.db"), allow_private_networks=True,
                             per_host_interval=0.0))

    runtime = Runtime(config, DropJobs())
    try:
        first_claim, second_claim = 1000.0, 1120.0  # the queue outlived the 120 s hold
        assert poll.poll_source(runtime, "s", first_claim).status == "ok"
        assert poll.poll_source(runtime, "s", second_claim).status == "skipped"
        assert len(site.requests) == 1
        # claimed again while that poll was running: it started just before the claim
        last = runtime.store.source_state("s")
        during = (last.last_poll + last.last_poll_end) / 2
        assert last.last_poll < during < last.last_poll_end
        assert poll.poll_source(runtime, "s", during).status == "skipped"
        # claimed after it ended (the next due poll, or `newswatch once` forcing one): runs
        assert poll.poll_source(runtime, "s", last.last_poll_end + 0.001).status != "skipped"
        assert len(site.requests) == 2
    finally:
        runtime.close()
        site.stop()


def test_an_alert_is_created_claimed_and_its_message_carries_the_claim(tmp_path):
    """Create + finish: two store round trips per alert; a redelivered message claims afresh."""
    from dataclasses import replace

    from servers import HTTPServer

    from worker import delivery, lease, ledger
    from worker.alerts.sample import sample_alert
    from worker.models import Config, Settings, Topic
    from worker.runtime import Runtime

    receiver = HTTPServer().start()
    receiver.routes["/hook"] = (200, {"Content-Type": "text/plain"}, b"ok")

    channel = Channel("hook", "webhook", {"url": receiver.url("/hook")})
    config = Config((), (Topic("t", "T", "armenia", channels=("hook",)),), (channel,),
                    Settings(state_path=str(tmp_path / "s.db"), allow_private_networks=True))
    runtime = Runtime(config, RecordingDispatcher())
    claims = []
    claim = runtime.store.claim_delivery
    runtime.store.claim_delivery = lambda *a, **k: claims.append(a) or claim(*a, **k)
    try:
        now = time.time()
        first, second = (replace(sample_alert("hook"), id=f"alert-{n}") for n in (1, 2))
        assert ledger.create_delivery(runtime, first, now)
        assert ledger.create_delivery(runtime, second, now)
        (job, args, countdown), (_, second_args, _) = runtime.dispatcher.jobs
        assert (job, args[0], countdown) == ("deliver", first.id, 0.0)
        assert delivery.deliver(runtime, *args) == "sent"
        assert claims == [], "the handed claim needs no claim round trip"
        assert runtime.store.delivery(first.id).attempts == 1
        # the same message again after its worker died: it must not trust the claim it
        # carries, and the store knows the alert went out
        assert delivery.deliver(runtime, *args, redelivered=True) == "skipped"
        assert len(claims) == 1 and len(receiver.requests) == 1
        # a worker died before sending: the redelivered message takes the creator's lease over
        assert delivery.deliver(runtime, *second_args, redelivered=True) == "sent"
        assert len(claims) == 2 and len(receiver.requests) == 2
        assert runtime.store.delivery(second.id).attempts == 2

        # a long article: the message carries the id only, and the deliver job claims
        long = replace(first, id="alert-long",
                       article=replace(first.article, text="kata " * lease.MAX_HANDED_TEXT))
        assert ledger.create_delivery(runtime, long, now)
        assert runtime.dispatcher.jobs[-1][1] == ("alert-long",)
        assert runtime.store.delivery("alert-long").attempts == 0
        assert delivery.deliver(runtime, "alert-long") == "sent"
        assert len(claims) == 3 and len(receiver.requests) == 3

        third = replace(first, id="alert-3")
        assert ledger.create_delivery(runtime, third, now)
        third_args = runtime.dispatcher.jobs[-1][1]
        # a message that sat in the queue past half its lease claims from the store...
        stale = dict(third_args[1], lease_until=time.time() + 10)
        assert delivery.deliver(runtime, third.id, stale) == "skipped", "not the creator's lease"
        # ...and takes the lease over when it is still the one its creator took
        runtime.store.claim_delivery = claim
        created = runtime.store.delivery(third.id).lease_until
        assert delivery.deliver(runtime, third.id, dict(third_args[1], lease_until=created),
                                redelivered=True) == "sent"
        assert len(receiver.requests) == 4
    finally:
        runtime.close()
        receiver.stop()


def test_a_body_identical_to_the_last_poll_is_not_read_again(tmp_path, monkeypatch):
    """Servers without ETag/Last-Modified: the same bytes mean nothing new, so no parse."""
    from scenario import AFP_TEXT, wire_feed
    from servers import HTTPServer

    from worker import poll
    from worker.models import Config, Settings, Source
    from worker.runtime import Runtime
    from worker.sources import feed as feed_module

    site = HTTPServer().start()
    base = f"http://127.0.0.1:{site.port}"
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"},
                            wire_feed(base, "a", "Berita", AFP_TEXT))
    config = Config((Source("s", f"{base}/feed"),), (), (),
                    Settings(state_path=str(tmp_path / "s.db"), allow_private_networks=True,
                             per_host_interval=0.0))
    reads = []
    read_feed = feed_module.read_feed
    monkeypatch.setattr(feed_module, "read_feed", lambda response: reads.append(1) or read_feed(response))

    runtime = Runtime(config, DropJobs())
    try:
        first = poll.poll_source(runtime, "s")
        assert (first.status, first.http, first.new) == ("ok", 200, 1)
        same = poll.poll_source(runtime, "s")
        assert (same.status, same.http, same.entries, same.new) == ("not_modified", 200, 0, 0)
        assert len(reads) == 1 and len(site.requests) == 2
        site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"},
                                wire_feed(base, "b", "Berita baru", AFP_TEXT))
        changed = poll.poll_source(runtime, "s")
        assert (changed.status, changed.new) == ("ok", 1) and len(reads) == 2
    finally:
        runtime.close()
        site.stop()
