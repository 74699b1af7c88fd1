"""Pure pieces of the pipeline: poll intervals, retry delays, digest times."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from worker.models import Channel
from worker.pipeline import MAX_SOURCE_BACKOFF, next_digest_at, next_poll_interval, retry_delay


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

    from worker import pipeline
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

    class Recorder:
        jobs: list = []

        def enqueue(self, job, *args, countdown=0.0):
            self.jobs.append((job, args))

    runtime = Runtime(config, Recorder())
    real = compile_topics(config.topics)

    class Flaky:  # a matcher bug that only one article triggers
        def match(self, article):
            if article.title == "Bom waktu":
                raise RuntimeError("matcher bug")
            return real.match(article)

    runtime.__dict__["topic_index"] = Flaky()
    try:
        result = pipeline.poll_source(runtime, "s")
        assert (result.status, result.new, result.alerts, result.entry_errors) == ("ok", 1, 1, 1)
        assert "task=process_entry source=s" in caplog.text and "matcher bug" in caplog.text
        site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, feed.encode() + b" ")
        again = pipeline.poll_source(runtime, "s")
        assert again.entry_errors == 1, "the failed entry is tried again on the next poll"
        assert again.new == 0 and again.alerts == 0
    finally:
        runtime.close()
        site.stop()


def test_a_poll_claimed_again_while_queued_runs_only_once(tmp_path):
    from servers import HTTPServer

    from worker import pipeline
    from worker.models import Config, Settings, Source
    from worker.runtime import Runtime

    site = HTTPServer().start()
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"},
                            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                            b"</channel></rss>")
    config = Config((Source("s", site.url("/feed")),), (), (),
                    Settings(state_path=str(tmp_path / "s.db"), allow_private_networks=True))

    class Nothing:
        def enqueue(self, job, *args, countdown=0.0):
            pass

    runtime = Runtime(config, Nothing())
    try:
        first_claim, second_claim = 1000.0, 1120.0  # the queue outlived the 120 s hold
        assert pipeline.poll_source(runtime, "s", first_claim).status == "ok"
        assert pipeline.poll_source(runtime, "s", second_claim).status == "skipped"
        assert len(site.requests) == 1
    finally:
        runtime.close()
        site.stop()
