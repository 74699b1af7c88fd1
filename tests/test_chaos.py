"""Chaos: nothing lost, nothing doubled, whatever dies and whenever (issue 11).

One feed of 20 matching articles (`full_text: true`, slow pages, ETag/Last-Modified),
two slow channels (a webhook receiver and an SMTP server, 0.5-1.5 s per alert), and the
processes an operator runs: real `celery -A worker.app worker` and `beat` on a private
redis-server with AOF, or `newswatch run` in embedded mode. The worker's process tree
is SIGKILLed several times at random moments, restarted each time, and then left to
finish. Every one of the 40 alerts (20 articles x 2 channels) must arrive exactly once.

Where a kill lands. Each round arms several moments and kills at whichever comes first,
after a small random delay: the n-th article page requested (during fetch), the n-th
page just served (during parsing and matching), the k-th write of the store's own
keys seen on Redis's MONITOR (between ledger steps: seen marks, fingerprints, ledger
records, claims), the n-th alert held by a receiver (mid-send). The first round arms
only the poll's moments, so at least one kill cuts a poll in the middle.

Exactly once, for a sender that is killed mid-send (details: `faults.DeliveryAudit`).
A receiver counts an alert only when it has answered it completely to a sender that is
still connected; a request whose sender died while the receiver was still working on
it is abandoned, and sending it again is right. A sender may also die after the answer
and before its ledger records "sent"; nobody can avoid repeating that one. So at each
fault, once the tree is dead, the test reads the ledger and judges each answer given
since the previous fault: an answer whose alert is not recorded as sent excuses one
more copy of that alert (so does an answer given while Redis was down, which could not
be recorded). Every answer is judged once, so a fault never excuses more than it cut.
Anything else arriving twice is a duplicate; anything not arriving is lost.

When it is over. The test waits (with a deadline) until the system has nothing left to
do: no receiver holds an alert, the ledger has no pending delivery, and the feed has
been polled successfully at least twice since the last fault. Then it judges.

Replay: the seed is printed; `CHAOS_SEED=<seed> pytest tests/test_chaos.py` replays the
choices (thread timing still varies). `CHAOS_KILLS` sets the number of kills (default 3).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from faults import (
    ChaosNewsSite,
    DeliveryAudit,
    Moments,
    PrivateRedis,
    SlowSMTPReceiver,
    SlowWebhookReceiver,
    StoreWriteWatch,
    kill_process_group,
)
from helpers import newswatch_command, subprocess_env
from processes import CeleryProcesses
from scenario import SECRET, write_config
from servers import HTTPServer, wait_for

pytestmark = pytest.mark.chaos

ARTICLES = 20
KILLS = int(os.environ.get("CHAOS_KILLS", "3"))
REDIS_RESTARTS = int(os.environ.get("CHAOS_REDIS_RESTARTS", "2"))
REDIS_OUTAGE = (2.0, 8.0)  # seconds Redis stays down
RESTARTS_ALONE = 2  # Redis restarts in test_worker_and_beat_outlive_redis_restarts
SOURCE_ID = "chaos-news"
REDELIVERY_AFTER = 10.0
# How long a round waits for its moment before it kills anyway; how long the end may take.
MOMENT_WAIT = 20.0
SETTLE_TIMEOUT = 150.0
# Seconds a slow receiver (webhook, SMTP) holds each alert before it answers.
RECEIVER_DELAY = (0.5, 1.5)
# Seconds between a moment and the kill, per kind: a page is held 0.1-0.4 s, a parse
# takes milliseconds, store writes follow each other within milliseconds, a receiver
# holds an alert at least RECEIVER_DELAY[0].
KILL_DELAY = {"fetch": (0.0, 0.1), "parse": (0.005, 0.06), "ledger": (0.0, 0.01),
              "send": (0.0, 0.9 * RECEIVER_DELAY[0]), None: (0.0, 0.0)}
ERROR_LINE = re.compile(r"CRITICAL|ERROR/|^\w+(Error|Exception):")
TICK_DONE = re.compile(r"Task newswatch\.tick\[[^\]]+\] succeeded")  # Celery's own log line
POLL_LINE = re.compile(rf"task=poll_source source={SOURCE_ID} status=(ok|not_modified)\b.*")


@pytest.fixture
def chaos_seed() -> int:
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**9))
    print(f"chaos seed: {seed} (replay: CHAOS_SEED={seed} pytest tests/test_chaos.py)")
    return seed


class ChaosRig:
    """The site, the receivers, the audit and the processes of one chaos run."""

    def __init__(self, tmp_path: Path, seed: int, distributed: bool, celery_bin: str | None = None) -> None:
        self.tmp_path, self.seed, self.distributed, self.celery_bin = tmp_path, seed, distributed, celery_bin
        self.rng = random.Random(seed)
        self.started = time.monotonic()
        self.timeline: list[str] = []
        self.moments = Moments()
        self.audit = DeliveryAudit(ARTICLES)
        # The servers draw their delays from generators of their own, so the fault plan
        # (this rng: which moments, how long after) replays the same numbers however the
        # threads interleave; where a kill lands still depends on timing.
        self.site = ChaosNewsSite(self.moments, random.Random(seed + 1), ARTICLES)
        self.webhook = SlowWebhookReceiver(self.audit, self.moments, random.Random(seed + 2),
                                           delay=RECEIVER_DELAY).start()
        self.smtp = SlowSMTPReceiver(self.audit, self.moments, random.Random(seed + 3),
                                     delay=RECEIVER_DELAY).start()
        self.redis: PrivateRedis | None = None
        self.watch: StoreWriteWatch | None = None
        if distributed:
            self.redis = PrivateRedis(tmp_path / "redis")
            self.redis.start()
            self.watch = StoreWriteWatch(self.redis, self.moments)
            self.watch.start()
        source = {"id": SOURCE_ID, "name": "Chaos News", "url": self.site.url("/feed.xml"), "kind": "feed",
                  "every": "5s", "full_text": True, "language": "id"}
        self.config = write_config(
            tmp_path / "config", [source], self.smtp, self.webhook,
            redis_url=self.redis.url if self.redis else "",
            retry={"backoff": "1s", "max_backoff": "2s", "max_age": "1h"},
            tick_every="1s", redelivery_after=f"{REDELIVERY_AFTER:g}s", fetch_timeout="5s",
            # Every page of the first poll is fetched (not only the newest 3, as for a new
            # source's backlog), so the first round's fetch and parse moments (up to the 8th
            # page) happen: otherwise it waits MOMENT_WAIT and kills an idle worker.
            backlog_pages=ARTICLES,
            # A fetch killed mid-way keeps its politeness slot until the slot's lease ends:
            # room for a few dead ones, so recovery is not throttled by the dead.
            per_host_interval="100ms", per_host_concurrency=4,
        )
        self.env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(self.config))
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.celery = CeleryProcesses(celery_bin, self.env, tmp_path) if distributed else None
        self.beat: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_log: Path | None = None
        self.incarnation = 0
        self.poll_lines_before = 0  # summary lines of the current log written before the last fault
        self._store = None

    # ------------------------------------------------------------------------ processes

    def note(self, text: str) -> None:
        line = f"t={time.monotonic() - self.started:6.1f}s {text}"
        self.timeline.append(line)
        print(line)

    def start_worker(self) -> None:
        self.incarnation += 1
        name = f"worker-{self.incarnation}"
        self.worker_log = self.tmp_path / f"{name}.log"
        if self.distributed:
            self.worker = self.celery.worker(name, concurrency=4)
        else:
            with open(self.worker_log, "w") as log:  # the child keeps its own copy of the descriptor
                self.worker = subprocess.Popen([*newswatch_command(), "run", "--config", str(self.config)],
                                               cwd=self.tmp_path, env=self.env, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)
        self.poll_lines_before = 0
        self.note(f"started {name} (pid {self.worker.pid})")

    def start(self) -> ChaosRig:
        self.start_worker()
        if self.distributed:
            self.beat = self.celery.beat()
            self.note(f"started beat (pid {self.beat.pid})")
        return self

    def log_of(self, process: subprocess.Popen) -> str:
        path = self.worker_log if process is self.worker else self.tmp_path / "beat.log"
        return path.read_text(errors="replace")

    def check(self) -> None:
        """Fail at once, with its log, if the worker or beat died without being killed."""
        for name, process in (("worker", self.worker), ("beat", self.beat)):
            if process is not None and process.poll() is not None:
                log = self.log_of(process)
                errors = [line for line in log.splitlines() if ERROR_LINE.search(line)]
                raise AssertionError(
                    f"{name} (pid {process.pid}) exited by itself with status {process.returncode} "
                    f"at t={time.monotonic() - self.started:.1f}s; seed {self.seed}\n"
                    + "\n".join(self.timeline) + "\n--- error lines:\n" + "\n".join(errors[-15:])
                    + "\n--- log tail:\n" + "\n".join(log.splitlines()[-25:])
                )

    def wait(self, condition, timeout: float, what: str):
        def checked():
            self.check()
            return condition()

        return wait_for(checked, timeout=timeout, interval=0.2, what=what)

    # ------------------------------------------------------------------------ the ledger

    @property
    def store(self):
        if self._store is None:
            from worker.config import load_config
            from worker.store import open_store

            self._store = open_store(load_config(str(self.config)).settings)
        return self._store

    def ledger(self) -> dict[str, str]:
        """alert id -> delivery state, as the store has it now."""
        return {d.alert_id: d.state for d in self.store.recent_deliveries(10_000)}

    def sent_ids(self) -> set[str]:
        return {alert_id for alert_id, state in self.ledger().items() if state == "sent"}

    # ------------------------------------------------------------------------ faults

    def targets(self, poll_only: bool, in_flight_only: bool = False) -> dict[str, int]:
        # The first round cuts the first poll somewhere in its 20 entries; later rounds
        # aim at whatever happens first, as there may be little going on.
        spread = 8 if poll_only else 3
        targets = {"fetch": self.rng.randint(1, spread), "parse": self.rng.randint(1, spread)}
        if self.distributed and not in_flight_only:
            targets["ledger"] = self.rng.randint(1, 10 * spread)
        if in_flight_only:
            del targets["parse"]  # the page is answered: its task may be done with the network
        if not poll_only:
            targets["send"] = self.rng.randint(1, 2)
        return targets

    def await_moment(self, poll_only: bool, in_flight_only: bool = False) -> str:
        targets = self.targets(poll_only, in_flight_only)
        kind = self.moments.wait_any(targets, MOMENT_WAIT, self.check)
        low, high = KILL_DELAY[kind]
        delay = self.rng.uniform(low, high)
        time.sleep(delay)  # a random delay before the fault (not a synchronisation)
        return f"{kind or 'idle'} #{targets.get(kind, 0)} +{delay * 1000:.0f}ms (armed {targets})"

    def kill_worker(self, round_number: int, poll_only: bool = False) -> None:
        moment = self.await_moment(poll_only)
        died = kill_process_group(self.worker)
        excused = self.audit.fault(f"kill {round_number} at {moment}", self.sent_ids())
        self.note(f"kill {round_number}: SIGKILL to {died} processes at {moment}; "
                  f"{len(self.audit.snapshot())} answered so far, {excused} of them not recorded as sent")
        self.start_worker()

    def restart_redis(self, round_number: int) -> None:
        """SIGTERM to Redis while the worker has tasks in flight (unacknowledged, as
        acks_late leaves them), a few seconds down, then started on the same port and dir."""
        assert self.redis is not None
        self.wait(lambda: " ready." in self.worker_log.read_text(errors="replace"), timeout=60,
                  what="the worker to be connected")
        moment = self.await_moment(poll_only=False, in_flight_only=True)
        self.audit.fault(f"redis restart {round_number} at {moment}", self.sent_ids())
        self._close_store()
        down = time.monotonic()
        code = self.redis.stop()
        outage = self.rng.uniform(*REDIS_OUTAGE)
        time.sleep(outage)  # how long Redis stays down: part of the fault
        self.redis.start()
        up = time.monotonic()
        self.audit.outage(down, up)
        self.poll_lines_before = len(self.poll_lines())
        self.note(f"redis restart {round_number}: SIGTERM at {moment} (exit {code}), "
                  f"down {up - down:.1f}s, started again")
        # Worker and beat ride it out: both still running, and ticks that beat sends run on
        # the worker again (polls may rightly wait for the claims the outage cut to run out).
        ticks_before = len(TICK_DONE.findall(self.log_of(self.worker)))
        self.wait(lambda: len(TICK_DONE.findall(self.log_of(self.worker))) - ticks_before >= 2, timeout=60,
                  what="the worker to run beat's ticks again after the Redis restart")
        self.note("worker and beat back at work after the Redis restart")

    # ------------------------------------------------------------------------ the end

    def poll_lines(self) -> list[str]:
        if self.worker_log is None or not self.worker_log.exists():
            return []
        return [m.group(0) for m in POLL_LINE.finditer(self.worker_log.read_text(errors="replace"))]

    def idle(self) -> bool:
        if self.webhook.in_flight or self.smtp.in_flight:
            return False
        if len(self.poll_lines()) - self.poll_lines_before < 2:
            return False  # not yet polled twice since the last fault
        return "pending" not in self.ledger().values()

    def settle(self) -> None:
        """Wait until there is nothing left to do (see the module docstring)."""
        self.note("faults over: waiting for the system to finish")
        idle_since: list[float] = []

        def idle_for_a_second() -> bool:
            if not self.idle():
                idle_since.clear()
                return False
            idle_since[:] = idle_since or [time.monotonic()]
            return time.monotonic() - idle_since[0] >= 1.0

        try:
            self.wait(idle_for_a_second, timeout=SETTLE_TIMEOUT, what="the system to have nothing left to do")
        except AssertionError as error:
            if "timed out" not in str(error):
                raise
            self.note(f"not idle after {SETTLE_TIMEOUT:.0f}s; judging what arrived")
        else:
            self.note("idle: nothing in flight, nothing pending, polled twice since the last fault")

    def verdict(self) -> None:
        self.check()
        problems = self.audit.problems()
        polls = self.poll_lines()[self.poll_lines_before:]
        assert not problems, (
            f"not exactly once (seed {self.seed}):\n" + "\n".join(problems)
            + "\n--- timeline:\n" + "\n".join(self.timeline)
            + "\n--- audit:\n" + self.audit.report()
            + f"\n--- ledger: {sorted(self.ledger().values()).count('sent')} sent, "
            f"{list(self.ledger().values()).count('pending')} pending"
            + "\n--- polls since the last fault:\n" + "\n".join(polls[-6:])
        )
        print(self.audit.report())

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def close(self) -> None:
        if self.celery is not None:
            self.celery.stop_all()
        elif self.worker is not None and self.worker.poll() is None:
            kill_process_group(self.worker)
        self._close_store()
        if self.watch is not None:
            self.watch.stop()
        if self.redis is not None:
            self.redis.close()
        self.site.stop()
        self.webhook.stop()
        self.smtp.stop()


@pytest.fixture
def rig(tmp_path, chaos_seed, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)  # the test reads the ledger with the same config
    made: list[ChaosRig] = []

    def make(distributed: bool, celery_bin: str | None = None) -> ChaosRig:
        made.append(ChaosRig(tmp_path, chaos_seed, distributed, celery_bin).start())
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.mark.timeout(330)
def test_celery_worker_killed_at_random_moments_alerts_exactly_once(rig, celery_bin):
    chaos = rig(distributed=True, celery_bin=celery_bin)
    for round_number in range(1, KILLS + 1):
        chaos.kill_worker(round_number, poll_only=round_number == 1)
    chaos.settle()
    chaos.verdict()


@pytest.mark.timeout(420)
def test_celery_worker_and_beat_ride_out_a_redis_restart_amid_kills(rig, celery_bin):
    """Kills and Redis restarts in turn, starting with a kill mid-poll."""
    chaos = rig(distributed=True, celery_bin=celery_bin)
    chaos.kill_worker(1, poll_only=True)
    for round_number in range(1, max(REDIS_RESTARTS, KILLS - 1) + 1):
        if round_number <= REDIS_RESTARTS:
            chaos.restart_redis(round_number)
        if round_number + 1 <= KILLS - 1:
            chaos.kill_worker(round_number + 1)
    chaos.settle()
    chaos.verdict()


@pytest.mark.timeout(330)
def test_embedded_run_killed_at_random_moments_alerts_exactly_once(rig):
    chaos = rig(distributed=False)
    for round_number in range(1, KILLS + 1):
        chaos.kill_worker(round_number, poll_only=round_number == 1)
    chaos.settle()
    chaos.verdict()


# ------------------------------------------------------------------------------ the crash alone


def test_worker_and_beat_outlive_redis_restarts(tmp_path, celery_bin):
    """The Redis restart of issue 11 on its own, twice over. A worker and beat poll
    a feed that takes 4 s to answer, so a poll task is in flight (unacknowledged, as
    acks_late leaves it) while the consumer waits on Redis for more work; Redis gets
    SIGTERM, stays down 2 s and starts again on the same port and dir. Worker and beat
    must keep running and work again after each restart: ticks sent by beat run on the
    worker, and the feed is polled again."""
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    site = HTTPServer().start()
    fetches: list[float] = []
    in_flight = threading.Event()

    def feed(request):
        fetches.append(time.monotonic())
        in_flight.set()
        time.sleep(4.0)  # a slow site: the poll task stays in flight meanwhile
        return 200, {"Content-Type": "application/rss+xml"}, (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
            b"<description>d</description></channel></rss>")

    site.routes["/feed.xml"] = feed
    hook = HTTPServer().start()
    source = {"id": "slow", "url": site.url("/feed.xml"), "kind": "feed", "every": "1s"}
    config = write_config(tmp_path / "config", [source], hook, hook, redis_url=redis_server.url,
                          tick_every="1s", smtp_url="smtp://127.0.0.1:9", fetch_timeout="10s")
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET, NEWSWATCH_CONFIG=str(config))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    processes = CeleryProcesses(celery_bin, env, tmp_path)
    worker = processes.worker("worker", concurrency=2)
    beat = processes.beat()
    restart = 0

    def alive() -> None:
        for name, process in (("worker", worker), ("beat", beat)):
            if process.poll() is not None:
                log = processes.log(name)
                crash = [line for line in log.splitlines() if "Unrecoverable" in line or "Error:" in line]
                raise AssertionError(f"{name} exited with status {process.returncode} after Redis "
                                     f"restart {restart}:\n" + "\n".join(crash[-5:]) + "\n--- log tail:\n"
                                     + "\n".join(log.splitlines()[-30:]))

    try:
        wait_for(lambda: " ready." in processes.log("worker"), timeout=60, what="the worker to be connected")
        for restart in range(1, RESTARTS_ALONE + 1):
            in_flight.clear()
            wait_for(lambda: (alive(), in_flight.is_set())[1], timeout=60, what="a poll in flight")
            time.sleep(0.5)  # the fetch has begun (a delay before the fault, not a synchronisation)
            assert redis_server.stop() == 0
            time.sleep(2.0)  # Redis is down for a while: the fault itself
            ticks_before = len(TICK_DONE.findall(processes.log("worker")))
            redis_server.start()
            back = time.monotonic()

            def working_again(back: float = back, ticks_before: int = ticks_before) -> bool:
                alive()
                ticks = len(TICK_DONE.findall(processes.log("worker"))) - ticks_before
                return ticks >= 2 and any(t > back for t in fetches)

            wait_for(working_again, timeout=60, what=f"ticks and a poll after Redis restart {restart}")
        alive()
        for name in ("worker", "beat"):  # one line when the broker goes, one when it is back
            log = processes.log(name)
            assert log.count("task=broker status=lost") == RESTARTS_ALONE, log
            assert log.count("task=broker status=back") == RESTARTS_ALONE, log
    finally:
        codes = processes.stop_all()
        redis_server.close()
        site.stop()
        hook.stop()
    assert codes == [0, 0], f"worker and beat stop cleanly afterwards: {codes}"
