"""Delivery you can trust: retries through outages, once per (article, topic, channel).

Every scenario runs the real `newswatch` command against real servers on loopback.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from helpers import run_newswatch, subprocess_env
from processes import NewswatchRun
from scenario import AFP_TEXT, SECRET, hook_posts, kompas_source, verify_signature, wire_feed, write_config
from servers import HTTPServer, SMTPServer, free_port, wait_for

from worker.store.sqlite import SQLiteStore

FAST_RETRY = {"backoff": "200ms", "max_backoff": "500ms", "max_age": "1h"}


def ledger(state_db: Path) -> list[dict]:
    store = SQLiteStore(state_db)
    try:
        return [asdict(delivery) for delivery in store.recent_deliveries(1000)]
    finally:
        store.close()


def test_webhook_500_three_times_then_200_delivers_once(tmp_path, news_site, smtp):
    receiver = HTTPServer().start()
    answers = iter([500, 500, 500])

    def flaky(_request):
        return next(answers, 200), {"Content-Type": "text/plain"}, b"-"

    receiver.routes["/hook"] = flaky
    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          retry=FAST_RETRY, tick_every="200ms")
    runner = NewswatchRun(config, tmp_path, TEST_WEBHOOK_SECRET=SECRET)
    try:
        wait_for(lambda: len(hook_posts(receiver)) >= 4, timeout=60, what="the fourth attempt")

        def webhook_record():
            records = [r for r in ledger(config / "state.db") if r["channel_id"] == "ops-webhook"]
            return records if records and records[0]["state"] == "sent" else None

        records = wait_for(webhook_record, timeout=30, what="the ledger to say sent")
    finally:
        assert runner.stop() == 0
        receiver.stop()
    posts = hook_posts(receiver)
    assert len(posts) == 4, runner.log()
    ids = {p.headers["X-Newswatch-Delivery"] for p in posts}
    assert len(ids) == 1, "every retry carries the same alert id"
    for post in posts:
        verify_signature(post)
    assert len(records) == 1 and records[0]["attempts"] == 4
    assert runner.log().count("task=deliver status=retry") >= 3


def test_smtp_down_then_up_delivers_the_email_once(tmp_path, news_site, receiver):
    port = free_port()
    config = write_config(tmp_path / "config", [kompas_source(news_site)], SMTPServer(),
                          receiver, smtp_url=f"smtp://127.0.0.1:{port}", retry=FAST_RETRY,
                          tick_every="200ms")
    runner = NewswatchRun(config, tmp_path, TEST_WEBHOOK_SECRET=SECRET)
    smtp = SMTPServer(port)
    try:
        wait_for(lambda: "channel=desk-email" in runner.log() and "status=retry" in runner.log(),
                 timeout=60, what="a failed email attempt")
        smtp.start()
        wait_for(lambda: smtp.messages, timeout=30, what="the email after SMTP came up")

        def email_sent():
            records = [r for r in ledger(config / "state.db") if r["channel_id"] == "desk-email"]
            return records and records[0]["state"] == "sent"

        wait_for(email_sent, timeout=30, what="the ledger to say sent")
    finally:
        assert runner.stop() == 0
        smtp.stop()
    assert len(smtp.messages) == 1
    (record,) = [r for r in ledger(config / "state.db") if r["channel_id"] == "desk-email"]
    assert record["attempts"] >= 2, "the first attempt failed while SMTP was down"
    log = runner.log()
    retries = [line for line in log.splitlines() if "status=retry" in line and "desk-email" in line]
    assert retries and all("refused" in line.lower() for line in retries), log
    assert "Traceback" not in log


def test_the_same_wire_story_from_three_outlets_alerts_once(tmp_path, smtp, receiver):
    site = HTTPServer().start()
    base = f"http://127.0.0.1:{site.port}"
    outlets = [
        ("kompas", "Kompas.com", "PM Armenia Minta Relasi Militer dengan Rusia Diperkuat",
         AFP_TEXT),
        ("tempo", "Tempo.co", "Armenia Ingin Kerja Sama Militer Lebih Erat dengan Rusia",
         AFP_TEXT + " (AFP/Tempo)"),
        ("antara", "ANTARA", "Pashinyan: Hubungan Militer dengan Rusia Harus Diperkuat",
         "Jakarta (ANTARA) - " + AFP_TEXT.replace("menurut laporan", "seperti dilaporkan")),
    ]
    sources = []
    for slug, name, title, text in outlets:
        site.routes[f"/{slug}/rss"] = (200, {"Content-Type": "application/rss+xml"},
                                       wire_feed(base, slug, title, text))
        sources.append({"id": slug, "name": name, "url": f"{base}/{slug}/rss"})
    config = write_config(tmp_path / "config", sources, smtp, receiver,
                          near_duplicate_hold="3s", per_host_interval="0s")
    try:
        result = run_newswatch(["once", "--config", str(config)],
                               subprocess_env(TEST_WEBHOOK_SECRET=SECRET), cwd=tmp_path)
    finally:
        site.stop()
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("matched=1") == 3, result.stderr
    posts = hook_posts(receiver)
    assert len(posts) == 1, result.stderr
    assert len(smtp.messages) == 1
    payload = json.loads(posts[0].body)
    first = payload["article"]["source"]["name"]
    assert first in {"Kompas.com", "Tempo.co", "ANTARA"}
    assert sorted(payload["also_reported_by"]) == sorted(
        {"Kompas.com", "Tempo.co", "ANTARA"} - {first})


def two_story_site() -> tuple[HTTPServer, list[dict]]:
    site = HTTPServer().start()
    base = f"http://127.0.0.1:{site.port}"
    other = ("Presiden Azerbaijan Ilham Aliyev mengunjungi Shusha di Karabakh dan berbicara "
             "tentang pembangunan kembali wilayah itu setelah perang dengan Armenia.")
    site.routes["/a"] = (200, {"Content-Type": "application/rss+xml"},
                         wire_feed(base, "a", "Armenia Minta Relasi Militer Diperkuat", AFP_TEXT))
    site.routes["/b"] = (200, {"Content-Type": "application/rss+xml"},
                         wire_feed(base, "b", "Aliyev Kunjungi Shusha", other))
    return site, [{"id": "a", "url": f"{base}/a"}, {"id": "b", "url": f"{base}/b"}]


def test_digest_sends_one_email_with_every_match(tmp_path, smtp, receiver):
    site, sources = two_story_site()
    config = write_config(tmp_path / "config", sources, smtp, receiver, tick_every="200ms",
                          per_host_interval="0s", email={"mode": "digest", "every": "2s"})
    runner = NewswatchRun(config, tmp_path, TEST_WEBHOOK_SECRET=SECRET)
    try:
        wait_for(lambda: smtp.messages, timeout=60, what="the digest email")
        wait_for(lambda: len(hook_posts(receiver)) == 2, timeout=30, what="two instant webhooks")
    finally:
        assert runner.stop() == 0
        site.stop()
    assert len(smtp.messages) == 1, runner.log()
    body = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Armenia Minta Relasi Militer Diperkuat" in body and "Aliyev Kunjungi Shusha" in body
    assert "task=send_digest channel=desk-email status=sent alerts=2" in runner.log()


def test_permanent_failure_is_recorded_with_one_clear_line(tmp_path, news_site, smtp):
    receiver = HTTPServer().start()
    receiver.routes["/hook"] = (410, {"Content-Type": "text/plain"}, b"gone")
    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver)
    result = run_newswatch(["once", "--config", str(config)],
                           subprocess_env(TEST_WEBHOOK_SECRET=SECRET), cwd=tmp_path)
    receiver.stop()
    assert result.returncode == 0, result.stderr
    failed = [line for line in result.stderr.splitlines() if "status=failed" in line]
    assert len(failed) == 1, result.stderr
    assert "channel=ops-webhook" in failed[0] and "http=410" in failed[0]
    assert "article=" in failed[0] and "reason=" in failed[0]
    assert SECRET not in result.stderr
    assert len(hook_posts(receiver)) == 1, "a permanent error is not retried"
    records = [r for r in ledger(config / "state.db") if r["channel_id"] == "ops-webhook"]
    assert records[0]["state"] == "failed" and "410" in records[0]["last_error"]
    status = run_newswatch(["status", "--config", str(config)],
                           subprocess_env(TEST_WEBHOOK_SECRET=SECRET), cwd=tmp_path)
    assert "1 failed" in status.stdout and "http=410" in status.stdout


def test_test_alert_sends_a_sample_through_one_channel(tmp_path, smtp, receiver):
    config = write_config(tmp_path / "config", [], smtp, receiver)
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET)
    result = run_newswatch(["test-alert", "ops-webhook", "--config", str(config)], env,
                           cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ops-webhook: sent" in result.stdout
    post = hook_posts(receiver)[0]
    verify_signature(post)
    assert json.loads(post.body)["topic"]["name"]
    missing = run_newswatch(["test-alert", "nowhere", "--config", str(config)], env, cwd=tmp_path)
    assert missing.returncode == 2 and "no channel 'nowhere'" in missing.stderr
    receiver.stop()
    down = run_newswatch(["test-alert", "ops-webhook", "--config", str(config)], env, cwd=tmp_path)
    assert down.returncode == 1 and "ops-webhook: failed" in down.stderr


def test_a_source_down_for_too_long_raises_one_ops_alert_and_one_on_recovery(tmp_path, smtp,
                                                                            receiver):
    site = HTTPServer().start()
    state = {"broken": True}

    def feed(_request):
        if state["broken"]:
            return 503, {"Content-Type": "text/plain"}, b"down for maintenance"
        return 200, {"Content-Type": "application/rss+xml"}, wire_feed(
            f"http://127.0.0.1:{site.port}", "x", "Berita lain", "Tidak ada apa-apa.")

    site.routes["/feed"] = feed
    config = write_config(tmp_path / "config", [{"id": "flaky", "url": site.url("/feed")}], smtp,
                          receiver, source_down_after="1ms", ops_channels=["ops-webhook"])
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET)

    def once() -> str:
        result = run_newswatch(["once", "--config", str(config)], env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stderr

    try:
        once()  # first failure: not down long enough yet
        assert hook_posts(receiver) == []
        once()
        once()  # still down: no second alert
        state["broken"] = False
        once()
        once()
    finally:
        site.stop()
    events = [json.loads(p.body)["event"] for p in hook_posts(receiver)]
    assert events == ["source.down", "source.recovered"]
    down = json.loads(hook_posts(receiver)[0].body)
    assert "flaky" in down["article"]["title"] and "503" in down["article"]["text"]
    assert hook_posts(receiver)[0].headers["X-Newswatch-Event"] == "source.down"
    assert smtp.messages == [], "ops alerts go to the ops channels only"


def test_secrets_never_reach_the_logs(tmp_path, news_site, smtp, receiver):
    password = "hunter2-very-secret"
    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          smtp_url=f"smtp://desk:{password}@127.0.0.1:{smtp.port}")
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, LOG_FORMAT="json")
    result = run_newswatch(["once", "--config", str(config)], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # the test SMTP server offers no STARTTLS, so the password must not be sent either
    failed = [json.loads(line) for line in result.stderr.splitlines() if '"status": "failed"' in line]
    assert failed and failed[0]["channel"] == "desk-email" and "STARTTLS" in failed[0]["error"]
    status = run_newswatch(["status", "--json", "--config", str(config)], env, cwd=tmp_path)
    for output in (result.stderr, result.stdout, status.stdout, status.stderr):
        assert password not in output and SECRET not in output
