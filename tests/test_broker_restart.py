"""The broker can restart under a running worker: kombu's Redis transport shim and the
one-line-per-outage log, against brokers of the test's own."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from brokers import RABBITMQ_SERVER, PrivateRabbitMQ
from faults import PrivateRedis
from helpers import ROOT, subprocess_env
from processes import CeleryProcesses
from servers import wait_for

from worker.broker import BrokerOutageLog


def private_server(server_class, folder, installed: bool):
    if not installed:
        pytest.skip(f"{server_class.__name__} needs a server that is not installed")
    folder.mkdir()
    server = server_class(folder)
    server.start()
    yield server
    server.close()


@pytest.fixture
def private_redis(tmp_path):
    yield from private_server(PrivateRedis, tmp_path / "redis", bool(shutil.which("redis-server")))


@pytest.fixture
def private_rabbitmq(tmp_path):
    installed = bool(shutil.which("rabbitmq-server") or Path(RABBITMQ_SERVER).exists())
    yield from private_server(PrivateRabbitMQ, tmp_path / "rabbitmq", installed)


TICK_DONE = re.compile(r"Task newswatch\.tick\[[^\]]+\] succeeded")  # Celery's own log line
PUBLISH_HELD_DELIVERY = """
import worker.tasks
from worker.app import app
app.tasks["newswatch.deliver"].apply_async(args=("no-such-alert",), countdown=120)
"""


def test_worker_and_beat_ride_out_a_rabbitmq_restart(tmp_path, private_redis, private_rabbitmq,
                                                     celery_bin):
    """RabbitMQ as the broker (Redis stays the store) stopped in order and started again on
    the same port and folder while the worker holds an unacknowledged message. (Redis as
    the broker: test_chaos.test_worker_and_beat_outlive_redis_restarts.)"""
    broker = private_rabbitmq
    config = tmp_path / "config.yaml"
    config.write_text(f"""
sources: [{{id: s, url: "http://127.0.0.1:9/feed", every: 1h}}]
topics: [{{id: t, name: T, query: armenia, channels: [hook]}}]
channels: [{{id: hook, type: webhook, url: "http://127.0.0.1:9/hook"}}]
settings: {{redis_url: "{private_redis.url}", allow_private_networks: true, tick_every: 1s}}
""")
    env = subprocess_env(NEWSWATCH_CONFIG=str(config), NEWSWATCH_BROKER_URL=broker.url)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    processes = CeleryProcesses(celery_bin, env, tmp_path)
    worker, beat = processes.worker(), processes.beat()
    try:
        wait_for(lambda: "ready." in processes.log("worker"), timeout=60, what="the worker")
        wait_for(lambda: "task=tick" in processes.log("worker"), timeout=60, what="a first tick")
        published = subprocess.run([sys.executable, "-c", PUBLISH_HELD_DELIVERY], env=env, cwd=ROOT,
                                   capture_output=True, text=True, timeout=60)
        assert published.returncode == 0, published.stderr
        wait_for(lambda: "newswatch.deliver" in processes.log("worker"), timeout=30,
                 what="the worker to hold the delivery")

        broker.stop()
        wait_for(lambda: "task=broker status=lost" in processes.log("worker"), timeout=30,
                 what="the worker to notice")
        wait_for(lambda: "task=broker status=lost" in processes.log("beat"), timeout=30,
                 what="beat to notice")
        broker.start()
        for name in ("worker", "beat"):
            wait_for(lambda name=name: "task=broker status=back" in processes.log(name), timeout=60,
                     what=f"{name} to reconnect")
        back_at = processes.log("worker").index("task=broker status=back")
        # Work goes on: beat's ticks reach the worker again, and run.
        wait_for(lambda: TICK_DONE.search(processes.log("worker")[back_at:]), timeout=30,
                 what="a tick after the restart")
        assert worker.poll() is None and beat.poll() is None, "a process exited"
        for name in ("worker", "beat"):
            log = processes.log(name)
            assert log.count("task=broker status=lost") == 1, log
            assert "AttributeError" not in log and "Unrecoverable" not in log, log
    finally:
        # After a consumer restart a pool child may wait out billiard's 30 s guarantee that
        # its last result was read before it exits (billiard's GUARANTEE_MESSAGE_CONSUMPTION).
        codes = processes.stop_all(timeout=60)
    assert codes == [0, 0], f"exit codes {codes}"


def record(name: str, message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, (), None)


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends():
    outage = BrokerOutageLog()
    lost = record("celery.worker.consumer.consumer",
                  "consumer: Connection to broker lost. Trying to re-establish the connection...")
    assert outage.filter(lost)
    assert lost.getMessage().startswith("task=broker status=lost")
    assert lost.levelno == logging.WARNING and lost.exc_info is None
    for _ in range(3):  # every retry while it is down
        retry = record("celery.worker.consumer.consumer",
                       "consumer: Cannot connect to redis://127.0.0.1:6379/0: Error 111.\n"
                       "Trying again in 2.00 seconds... (1/100)")
        assert not outage.filter(retry)
    assert not outage.filter(record("celery.beat", "Couldn't apply scheduled task newswatch-tick"))
    assert not outage.filter(record("celery.beat", "beat: Connection error: Error 111. Trying again"))
    back = record("celery.worker.consumer.connection", "Connected to redis://127.0.0.1:6379/0",
                  logging.INFO)
    assert outage.filter(back)
    assert back.getMessage().startswith("task=broker status=back down_s=")
    # Up again: the next "Connected to" (a normal start) and other lines pass untouched.
    again = record("celery.worker.consumer.connection", "Connected to redis://x", logging.INFO)
    assert outage.filter(again) and again.getMessage() == "Connected to redis://x"
    other = record("newswatch", "task=poll_source status=ok", logging.INFO)
    assert outage.filter(other) and other.getMessage() == "task=poll_source status=ok"


def test_celerys_warning_about_the_cancel_setting_we_chose_is_dropped():
    outage = BrokerOutageLog()
    warning = record("py.warnings", "CPendingDeprecationWarning: \nIn Celery 5.1 we introduced an "
                     "optional breaking change which\non connection loss cancels all currently "
                     "executed tasks with late acknowledgement enabled.", logging.WARNING)
    assert not outage.filter(warning)
    assert outage.filter(record("py.warnings", "DeprecationWarning: something else"))
