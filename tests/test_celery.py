"""Real `celery worker` and `celery beat` processes against a real Redis deliver a real alert."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
from conftest import ROOT
from scenario import SECRET, hook_posts, kompas_source, verify_signature, write_config
from servers import wait_for


def start(command: list[str], env: dict[str, str], log_path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task in hand, then exit
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("celery did not stop on SIGTERM within 30 s")


def test_worker_and_beat_deliver_the_alert(tmp_path, news_site, receiver, smtp, redis_url,
                                           celery_bin):
    from conftest import subprocess_env

    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          redis_url=redis_url, tick_every="1s")
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(config))
    worker = start([celery_bin, "-A", "worker.app", "worker", "--loglevel=INFO",
                    "--concurrency=2", "--without-gossip", "--without-mingle"],
                   env, tmp_path / "worker.log")
    beat = start([celery_bin, "-A", "worker.app", "beat", "--loglevel=INFO",
                  "--schedule", str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log")
    try:
        wait_for(lambda: hook_posts(receiver), timeout=90, what="the webhook from celery")
        wait_for(lambda: smtp.messages, timeout=30, what="the email from celery")
    finally:
        beat_code = stop(beat)
        worker_code = stop(worker)
    log = (tmp_path / "worker.log").read_text()
    post = hook_posts(receiver)[0]
    verify_signature(post)
    assert json.loads(post.body)["article"]["title"].startswith("PM Armenia")
    assert len(hook_posts(receiver)) == 1 and len(smtp.messages) == 1
    assert "task=poll_source source=kompas-global status=ok" in log, log
    assert "task=deliver" in log and "status=sent" in log
    assert worker_code == 0 and beat_code == 0


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def test_rabbitmq_as_the_broker_with_redis_as_the_store(tmp_path, news_site, receiver, smtp,
                                                        redis_url, celery_bin):
    from conftest import subprocess_env

    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          redis_url=redis_url, tick_every="1s")
    # A fresh vhost-less queue set per run would be ideal; purging ours keeps runs independent.
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(config),
                         NEWSWATCH_BROKER_URL=RABBITMQ_URL)
    purge = subprocess.run([celery_bin, "-A", "worker.app", "purge", "-f"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert purge.returncode == 0, purge.stderr
    worker = start([celery_bin, "-A", "worker.app", "worker", "--loglevel=INFO",
                    "--concurrency=2", "--without-gossip", "--without-mingle"],
                   env, tmp_path / "worker.log")
    beat = start([celery_bin, "-A", "worker.app", "beat", "--loglevel=INFO",
                  "--schedule", str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log")
    try:
        wait_for(lambda: hook_posts(receiver) and smtp.messages, timeout=90,
                 what="the alerts through RabbitMQ")
    finally:
        stop(beat)
        stop(worker)
    log = (tmp_path / "worker.log").read_text()
    assert "amqp://guest:**@127.0.0.1:5672//" in log, "the worker must have used RabbitMQ"
    assert len(hook_posts(receiver)) == 1 and len(smtp.messages) == 1


def test_worker_metrics_endpoint_adds_up_its_processes(tmp_path, news_site, receiver, smtp,
                                                         redis_url, celery_bin):
    import requests
    from conftest import subprocess_env
    from servers import free_port

    port = free_port()
    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          redis_url=redis_url, tick_every="1s", metrics_port=port)
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(config))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    worker = start([celery_bin, "-A", "worker.app", "worker", "--loglevel=INFO",
                    "--concurrency=2", "--without-gossip", "--without-mingle"],
                   env, tmp_path / "worker.log")
    beat = start([celery_bin, "-A", "worker.app", "beat", "--loglevel=INFO",
                  "--schedule", str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log")

    def scrape() -> str:
        try:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except requests.ConnectionError:
            return ""

    try:
        wait_for(lambda: hook_posts(receiver) and smtp.messages, timeout=90, what="the alerts")
        # the poll ends after its alerts may already be out: wait for both to be counted
        text = wait_for(lambda: (t := scrape()) and 'newswatch_deliveries_total{channel="ops-webhook"'
                        in t and 'newswatch_polls_total{status="ok"}' in t and t,
                        timeout=30, what="metrics with the poll and the delivery")
    finally:
        stop(beat)
        stop(worker)
    assert 'newswatch_polls_total{status="ok"} 1.0' in text, text
    assert "newswatch_alerts_created_total 2.0" in text
    assert 'newswatch_deliveries_total{channel="ops-webhook",status="sent"} 1.0' in text
    assert "newswatch_poll_duration_seconds_count 1.0" in text
