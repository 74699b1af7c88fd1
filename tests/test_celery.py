"""Real `celery worker` and `celery beat` processes against a real Redis deliver a real alert."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests
from helpers import ROOT, newswatch_command, subprocess_env
from processes import CeleryProcesses
from scenario import SECRET, hook_posts, kompas_source, verify_signature, write_config
from servers import free_port, wait_for

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def celery(celery_bin, tmp_path, news_site, receiver, smtp, redis_url):
    """Start worker + beat on a config around the Kompas site; stop them after the test."""
    started: list[CeleryProcesses] = []

    def run(**settings) -> CeleryProcesses:
        extra_env = settings.pop("env", {})
        config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                              redis_url=redis_url, tick_every="1s", **settings)
        env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(config), **extra_env)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        processes = CeleryProcesses(celery_bin, env, tmp_path)
        started.append(processes)
        processes.worker("worker", concurrency=2)
        processes.beat()
        return processes

    yield run
    for processes in started:
        processes.stop_all()


def test_worker_and_beat_deliver_the_alert(celery, receiver, smtp):
    processes = celery()
    wait_for(lambda: hook_posts(receiver), timeout=90, what="the webhook from celery")
    wait_for(lambda: smtp.messages, timeout=30, what="the email from celery")
    wait_for(lambda: "task=poll_source" in processes.log("worker"), timeout=30,
             what="the poll's summary line")
    codes = processes.stop_all()
    log = processes.log("worker")
    post = hook_posts(receiver)[0]
    verify_signature(post)
    assert json.loads(post.body)["article"]["title"].startswith("PM Armenia")
    assert len(hook_posts(receiver)) == 1 and len(smtp.messages) == 1
    assert "task=poll_source source=kompas-global status=ok" in log, log
    assert "task=deliver" in log and "status=sent" in log
    assert codes == [0, 0], "worker and beat stop cleanly on SIGTERM"


def test_rabbitmq_as_the_broker_with_redis_as_the_store(celery, celery_bin, receiver, smtp, redis_url):
    env = subprocess_env(NEWSWATCH_BROKER_URL=RABBITMQ_URL,
                         NEWSWATCH_CONFIG=str(ROOT / "config"), REDIS_URL=redis_url)
    # Queues on the shared RabbitMQ outlive a run: start from empty ones.
    purge = subprocess.run([celery_bin, "-A", "worker.app", "purge", "-f"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert purge.returncode == 0, purge.stderr
    processes = celery(env={"NEWSWATCH_BROKER_URL": RABBITMQ_URL})
    wait_for(lambda: hook_posts(receiver) and smtp.messages, timeout=90,
             what="the alerts through RabbitMQ")
    processes.stop_all()
    assert "amqp://guest:**@127.0.0.1:5672//" in processes.log("worker"), "RabbitMQ was the broker"
    assert len(hook_posts(receiver)) == 1 and len(smtp.messages) == 1


def test_worker_metrics_endpoint_adds_up_its_processes(celery, receiver, smtp):
    port = free_port()
    celery(metrics_port=port)

    def scrape() -> str:
        try:
            return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except requests.ConnectionError:
            return ""

    wait_for(lambda: hook_posts(receiver) and smtp.messages, timeout=90, what="the alerts")
    # the poll ends after its alerts may already be out: wait for both to be counted
    text = wait_for(lambda: (t := scrape()) and 'newswatch_deliveries_total{channel="ops-webhook"'
                    in t and 'newswatch_polls_total{status="ok"}' in t and t,
                    timeout=30, what="metrics with the poll and the delivery")
    assert 'newswatch_polls_total{status="ok"} 1.0' in text, text
    assert "newswatch_alerts_created_total 2.0" in text
    assert 'newswatch_deliveries_total{channel="ops-webhook",status="sent"} 1.0' in text
    assert "newswatch_poll_duration_seconds_count 1.0" in text


def test_newswatch_run_with_redis_url_is_worker_plus_beat(tmp_path, news_site, receiver, smtp,
                                                          redis_url):
    import signal

    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          redis_url=redis_url, tick_every="1s")
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([*newswatch_command(), "run", "--config", str(config)],
                                   env=subprocess_env(TEST_WEBHOOK_SECRET=SECRET), cwd=tmp_path,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: hook_posts(receiver) and smtp.messages, timeout=90,
                     what="the alerts from `newswatch run` on Redis")
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
    text = log_path.read_text()
    assert "celery@" in text or "[tasks]" in text, "it ran a Celery worker"
    assert "beat: Starting" in text or "Scheduler: Sending due task" in text, "with beat inside"
    assert len(hook_posts(receiver)) == 1 and code == 0


def compose_command(service: str, **variables: str) -> list[str]:
    """A service's command from docker-compose.yml, with ${VAR:-default} filled in."""
    import re

    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"][service]["command"]

    def fill(match: re.Match[str]) -> str:
        return variables.get(match.group(1), match.group(2) or "")

    return [re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", fill, part) for part in command]


def test_the_compose_services_commands_deliver_the_alert(tmp_path, news_site, receiver, smtp,
                                                         redis_url, celery_bin):
    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          redis_url=redis_url, tick_every="1s")
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(config))
    processes = CeleryProcesses(celery_bin, env, tmp_path)
    try:
        for service in ("worker", "deliver", "beat"):
            command = compose_command(service, WORKER_CONCURRENCY="2")
            assert command[:3] == ["celery", "-A", "worker.app"]
            if service == "beat":  # the container's schedule path is not writable here
                command[command.index("--schedule") + 1] = str(tmp_path / "beat-schedule")
            processes.start(service, *command[3:])
        wait_for(lambda: hook_posts(receiver) and smtp.messages, timeout=90,
                 what="the alerts from the compose services")
        wait_for(lambda: "status=sent" in processes.log("deliver"), timeout=30,
                 what="the deliver service's summary line")
    finally:
        codes = processes.stop_all()
    assert "task=poll_source source=kompas-global" in processes.log("worker")
    assert "task=deliver" not in processes.log("worker"), "deliveries run on their own service"
    assert len(hook_posts(receiver)) == 1 and len(smtp.messages) == 1
    assert codes == [0, 0, 0]
