"""Fault injection on loopback: the pieces the chaos tests assemble.

- `Moments`: the instants a kill can aim at, counted as the servers see them happen
  (an article page requested or just served, a store write, an alert in flight).
- `ChaosNewsSite`: one feed of N matching articles with distinct texts, validators
  (ETag / Last-Modified, so a wrongly saved validator shows up as a 304) and slow pages.
- `SlowWebhookReceiver`, `SlowSMTPReceiver`: slow receivers that count an alert only
  when they have answered it to a sender that is still there (see `DeliveryAudit`).
- `DeliveryAudit`: what arrived, which repeats a fault excuses, and the verdict.
- `PrivateRedis`: a redis-server of the test's own (AOF on, its own port and dir), that
  can be stopped with SIGTERM and started again; `StoreWriteWatch` follows its MONITOR.
- `kill_process_group`: SIGKILL a process tree and wait until every member is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from servers import BackgroundServer, HTTPServer, _QuietServer, free_port, wait_for

# ------------------------------------------------------------------------------ moments


class Moments:
    """How many times each kind of moment has happened; a kill waits for the n-th one.

    Kinds: `fetch` (an article page was requested and is being served), `parse` (a
    page was just handed over: the worker parses and matches it), `ledger` (a write to
    the store, seen through Redis MONITOR), `send` (a receiver holds an alert).
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.counts: Counter[str] = Counter()

    def hit(self, kind: str) -> None:
        with self._changed:
            self.counts[kind] += 1
            self._changed.notify_all()

    def wait_any(self, targets: dict[str, int], timeout: float,
                 check: Callable[[], None] = lambda: None) -> str | None:
        """Wait until one kind has happened its target number of times from now on;
        returns that kind, or None at the deadline. `check` runs between waits (it
        raises when a process under test died on its own)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            base = dict(self.counts)
            while True:
                for kind, target in targets.items():
                    if self.counts[kind] - base.get(kind, 0) >= target:
                        return kind
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(min(left, 0.5))
                check()


# ------------------------------------------------------------------------------ the site


def _pseudo_words(rng: random.Random, count: int) -> list[str]:
    """Invented words: every article's text is its own, so no two of them look like a
    republished wire story to the near-duplicate check (SimHash) and merge."""
    syllables = ["ka", "ri", "mo", "te", "lu", "sa", "pe", "na", "go", "di", "ba", "ru",
                 "si", "to", "me", "ja", "wi", "ne", "po", "la", "hu", "ke", "da", "ti"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(count)]


@dataclass(frozen=True)
class ChaosArticle:
    number: int
    path: str
    title: str
    paragraphs: tuple[str, ...]


def chaos_articles(count: int) -> list[ChaosArticle]:
    """`count` articles that each match the Armenia–Azerbaijan topic; fixed texts (they do
    not depend on the chaos seed), so a replay serves the same site."""
    articles = []
    for number in range(count):
        rng = random.Random(f"chaos-article-{number}")
        title = f"Armenia dan Azerbaijan bahas perbatasan, laporan {number:02d} {' '.join(_pseudo_words(rng, 2))}"
        paragraphs = [
            f"YEREVAN, Chaos News - Pemerintah Armenia dan Azerbaijan kembali bertemu "
            f"untuk laporan {number:02d}: {' '.join(_pseudo_words(rng, 30))}."
        ]
        paragraphs += [" ".join(_pseudo_words(rng, 35)).capitalize() + "." for _ in range(3)]
        articles.append(ChaosArticle(number, f"/read/chaos-{number:02d}", title, tuple(paragraphs)))
    return articles


ARTICLE_NUMBER = re.compile(r"laporan (\d\d)")


class ChaosNewsSite:
    """A feed of matching articles on 127.0.0.1, with validators and slow pages."""

    def __init__(self, moments: Moments, rng: random.Random, articles: int = 20,
                 page_delay: tuple[float, float] = (0.1, 0.4)) -> None:
        self.moments, self.rng, self.page_delay = moments, rng, page_delay
        self.articles = chaos_articles(articles)
        self.feed_fetches: list[float] = []  # monotonic time of every feed request
        self.server = HTTPServer().start()
        self.etag = '"chaos-feed-1"'
        self.modified = format_datetime(datetime.now(UTC) - timedelta(minutes=1), usegmt=True)
        self.server.routes["/feed.xml"] = self._feed
        self.server.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n")
        for article in self.articles:
            self.server.routes[article.path] = self._page

    def url(self, path: str = "/") -> str:
        return self.server.url(path)

    def _feed(self, request) -> tuple[int, dict[str, str], bytes]:
        self.feed_fetches.append(time.monotonic())
        headers = {k.lower(): v for k, v in request.headers.items()}
        validators = {"ETag": self.etag, "Last-Modified": self.modified}
        if headers.get("if-none-match") == self.etag or headers.get("if-modified-since") == self.modified:
            return 304, validators, b""
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8", **validators}, self.feed_xml()

    def feed_xml(self) -> bytes:
        base = self.url("").rstrip("/")
        now = datetime.now(UTC)
        items = "".join(
            f"<item><title>{a.title}</title><link>{base}{a.path}</link>"
            f"<guid isPermaLink=\"false\">chaos-{a.number:02d}</guid>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=a.number + 1), usegmt=True)}</pubDate>"
            f"<description>Laporan {a.number:02d} tentang Armenia dan Azerbaijan.</description></item>"
            for a in self.articles
        )
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>Chaos News</title><link>{base}/</link><description>chaos</description>"
                f"{items}</channel></rss>").encode()

    def _page(self, request) -> tuple[int, dict[str, str], bytes]:
        article = next(a for a in self.articles if a.path == request.path.split("?", 1)[0])
        # A server thread may still be serving a worker that was just killed: only a live
        # requester's moments count.
        if peer_alive(request.connection):
            self.moments.hit("fetch")
        time.sleep(self.rng.uniform(*self.page_delay))  # a slow site: the fetch is in progress
        if peer_alive(request.connection):
            self.moments.hit("parse")  # the answer is written right after this returns
        body = "".join(f"<p>{p}</p>" for p in article.paragraphs)
        page = (f"<!DOCTYPE html><html lang=\"id\"><head><meta charset=\"utf-8\">"
                f"<title>{article.title} - Chaos News</title>"
                f"<meta property=\"og:title\" content=\"{article.title}\"></head><body>"
                f"<nav><a href=\"/\">Beranda</a> <a href=\"/global\">Global</a></nav>"
                f"<article><h1>{article.title}</h1><div class=\"read__content\">{body}</div></article>"
                f"<footer>Chaos News</footer></body></html>")
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def stop(self) -> None:
        self.server.stop()


# ------------------------------------------------------------------------------ the audit


@dataclass(frozen=True)
class Completion:
    """An alert the receiver answered to a sender that was still connected."""

    channel: str  # "webhook" | "email"
    alert_id: str
    key: str  # what the channel dedups on: the webhook's delivery id, the email's Message-ID
    article: int | None  # which chaos article it is about (None: could not tell)
    at: float  # time.monotonic() of the answer


def peer_alive(sock: socket.socket | int) -> bool:
    """Is the other end of this connection still there? A SIGKILLed sender's kernel has
    closed its socket, so ours reads end-of-file (or a reset) without blocking."""
    fd = sock if isinstance(sock, int) else sock.fileno()
    if fd < 0:
        return False
    readable, _, _ = select.select([fd], [], [], 0)
    if not readable:
        return True
    probe = socket.socket(fileno=os.dup(fd))  # a duplicate: peeking never disturbs the owner
    try:
        return bool(probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        probe.close()


class DeliveryAudit:
    """Exactly once, for an at-least-once sender that is killed mid-send.

    What counts as received: an alert a receiver has answered completely to a sender
    that was still connected when the answer was written (a webhook: the whole body
    read, the 200 written; an email: the message taken, "250" about to be written). A
    request whose sender died while the receiver was still working on it is abandoned,
    not counted: the sender never learnt it arrived, so sending it again is right.

    What a repeat may be excused by: a sender can die after the receiver answered and
    before its ledger recorded "sent"; nobody can avoid sending that one again. So at
    each fault, once nothing more can be recorded (the tree is dead; or just before
    Redis is stopped), the audit reads the ledger and judges the answers given since
    the previous fault: each one whose alert the ledger does not hold as sent excuses
    one more copy of that alert. An answer given while Redis was down and judged at no
    later fault excuses one copy too (its "sent" could not be written). Every answer is
    judged once. Any other copy is a duplicate. The liveness check and the answer
    happen under `lock`, and a fault's snapshot takes the same lock, so no answer can
    slip between "the sender died" and "the snapshot".
    """

    def __init__(self, articles: int, channels: tuple[str, ...] = ("webhook", "email")) -> None:
        self.articles, self.channels = articles, channels
        self.lock = threading.Lock()
        self.completed: list[Completion] = []
        self.abandoned: list[tuple[str, str, float]] = []  # channel, alert id, when
        self.excuses: Counter[tuple[str, str]] = Counter()
        self.outages: list[tuple[float, float]] = []
        self.faults: list[str] = []
        self._judged = 0  # answers before this index were judged at a fault

    def answer(self, channel: str, alert_id: str, key: str, article: int | None,
               connection: socket.socket | int, write: Callable[[], None] = lambda: None) -> bool:
        """Answer one request if its sender is still there; True when it counts."""
        with self.lock:
            if not peer_alive(connection):
                self.abandoned.append((channel, alert_id, time.monotonic()))
                return False
            try:
                write()
            except OSError:
                self.abandoned.append((channel, alert_id, time.monotonic()))
                return False
            self.completed.append(Completion(channel, alert_id, key, article, time.monotonic()))
            return True

    def fault(self, label: str, sent: set[str]) -> int:
        """A fault happened and nothing more can be recorded: judge the answers given since
        the last fault against the ledger's `sent` alert ids. Returns how many were excused."""
        with self.lock:
            unrecorded = [c for c in self.completed[self._judged:] if c.alert_id not in sent]
            self._judged = len(self.completed)
            for c in unrecorded:
                self.excuses[(c.channel, c.alert_id)] += 1
            self.faults.append(f"{label}; answered since the last fault but not recorded as sent: "
                               f"{len(unrecorded)}")
            return len(unrecorded)

    def outage(self, down_at: float, up_at: float) -> None:
        self.outages.append((down_at, up_at))

    def snapshot(self) -> list[Completion]:
        with self.lock:
            return list(self.completed)

    def problems(self) -> list[str]:
        """Everything that is not exactly once; empty when all is well."""
        with self.lock:
            completed, unjudged = list(self.completed), self.completed[self._judged:]
        excuses = Counter(self.excuses)
        for c in unjudged:  # an answer given while the store was down could not be recorded
            if any(down <= c.at <= up for down, up in self.outages):
                excuses[(c.channel, c.alert_id)] += 1
        by_article: dict[tuple[str, int | None], list[Completion]] = defaultdict(list)
        for c in completed:
            by_article[(c.channel, c.article)].append(c)
        problems = []
        for channel in self.channels:
            missing = [n for n in range(self.articles) if (channel, n) not in by_article]
            if missing:
                problems.append(f"{channel}: {len(missing)} of {self.articles} articles never alerted: "
                                f"{', '.join(f'{n:02d}' for n in missing)}")
            unknown = by_article.get((channel, None), [])
            if unknown:
                problems.append(f"{channel}: {len(unknown)} alerts about no chaos article: "
                                f"{[c.alert_id for c in unknown]}")
            for n in range(self.articles):
                arrivals = by_article.get((channel, n), [])
                ids = {c.alert_id for c in arrivals}
                if len(ids) > 1:
                    problems.append(f"{channel}: article {n:02d} alerted under {len(ids)} different "
                                    f"alert ids: {sorted(ids)}")
                for alert_id in ids:
                    copies = [c for c in arrivals if c.alert_id == alert_id]
                    keys = {c.key for c in copies}
                    allowed = 1 + excuses[(channel, alert_id)]
                    if len(copies) > allowed or len(keys) > 1:
                        problems.append(f"{channel}: article {n:02d} (alert {alert_id}) arrived "
                                        f"{len(copies)} times, {allowed - 1} repeat(s) excused by faults")
        return problems

    def report(self) -> str:
        completed = self.snapshot()
        lines = [f"faults: {len(self.faults)}", *(f"  {f}" for f in self.faults)]
        for channel in self.channels:
            mine = [c for c in completed if c.channel == channel]
            lines.append(f"{channel}: {len(mine)} answered, {len({c.article for c in mine})} distinct "
                         f"articles, {sum(1 for a in self.abandoned if a[0] == channel)} abandoned "
                         f"(sender died first)")
        repeats = sum(count - 1 for count in Counter((c.channel, c.alert_id) for c in completed).values()
                      if count > 1)
        lines.append(f"repeats: {repeats}; answers not recorded as sent at a fault: "
                     f"{sum(self.excuses.values())}; store outages: {len(self.outages)}")
        return "\n".join(lines)


def article_number(text: str) -> int | None:
    found = ARTICLE_NUMBER.search(text)
    return int(found.group(1)) if found else None


# ------------------------------------------------------------------------------ receivers


class SlowWebhookReceiver(BackgroundServer):
    """A webhook endpoint that takes `delay` seconds per alert and audits what it answers."""

    def __init__(self, audit: DeliveryAudit, moments: Moments, rng: random.Random,
                 delay: tuple[float, float] = (1.0, 3.0)) -> None:
        self.audit, self.moments, self.rng, self.delay = audit, moments, rng, delay
        self.in_flight = 0
        self._count_lock = threading.Lock()

    def start(self) -> SlowWebhookReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner._handle(self, body)

        self.serve(_QuietServer(("127.0.0.1", 0), Handler))
        return self

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        alert_id = handler.headers.get("X-Newswatch-Delivery", "")
        try:
            article = article_number(json.loads(body)["article"]["title"])
        except (ValueError, KeyError, TypeError):
            article = None
        with self._count_lock:
            self.in_flight += 1
        try:
            if peer_alive(handler.connection):  # not a request a killed worker sent just before
                self.moments.hit("send")
            time.sleep(self.rng.uniform(*self.delay))  # a slow receiver: the alert is in flight

            def write() -> None:
                handler.send_response(200)
                handler.send_header("Content-Type", "text/plain")
                handler.send_header("Content-Length", "2")
                handler.end_headers()
                handler.wfile.write(b"ok")
                handler.wfile.flush()

            if not self.audit.answer("webhook", alert_id, alert_id, article, handler.connection, write):
                handler.close_connection = True
        finally:
            with self._count_lock:
                self.in_flight -= 1

    def url(self, path: str = "/hook") -> str:
        return super().url(path)


class SlowSMTPReceiver:
    """An SMTP server (aiosmtpd) that takes `delay` seconds before it answers DATA."""

    def __init__(self, audit: DeliveryAudit, moments: Moments, rng: random.Random,
                 delay: tuple[float, float] = (1.0, 3.0)) -> None:
        self.audit, self.moments, self.rng, self.delay = audit, moments, rng, delay
        self.in_flight = 0
        self.port = free_port()

    def start(self) -> SlowSMTPReceiver:
        from email import message_from_bytes, policy

        from aiosmtpd.controller import Controller

        owner = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                message = message_from_bytes(envelope.content, policy=policy.default)
                alert_id = str(message.get("X-Newswatch-Alert", ""))
                key = str(message.get("Message-ID", ""))
                owner.in_flight += 1  # the event loop's thread only: no lock needed
                try:
                    transport = server.transport
                    if transport is not None and peer_alive(transport.get_extra_info("socket").fileno()):
                        owner.moments.hit("send")
                    try:
                        await asyncio.sleep(owner.rng.uniform(*owner.delay))
                    except asyncio.CancelledError:  # aiosmtpd's doing: the sender hung up
                        owner.audit.abandoned.append(("email", alert_id, time.monotonic()))
                        raise
                    transport = server.transport
                    if transport is None or transport.is_closing():
                        return "421 sender gone"
                    sock = transport.get_extra_info("socket")
                    # "250" is written as soon as this returns, with no await in between
                    counted = owner.audit.answer("email", alert_id, key,
                                                 article_number(str(message.get("Subject", ""))),
                                                 sock.fileno())
                    return "250 OK" if counted else "421 sender gone"
                finally:
                    owner.in_flight -= 1

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._controller.stop()


# ------------------------------------------------------------------------------ redis


class PrivateRedis:
    """A redis-server of the test's own: a free loopback port, AOF in `data_dir`.

    Never the machine's Redis on 6379: stopping and restarting it is the fault.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        assert self.port != 6379
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.starts += 1
        # The child keeps its own copy of the log's descriptor: ours is closed at once.
        with open(self.data_dir / f"redis-{self.starts}.log", "w") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        client = redis.Redis(port=self.port, socket_timeout=2)
        try:
            wait_for(lambda: _pings(client), timeout=20, what=f"redis-server on port {self.port}")
        finally:
            client.close()

    def stop(self) -> int:
        """SIGTERM, as a container stop would: Redis flushes the AOF and exits."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pings(client: Any) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


# Writes that are not a poll's or a delivery's own steps: the scheduler's claims, the
# cycle counters and line, the per-host politeness slots.
_NOT_LEDGER = re.compile(r"newswatch:(schedule|counts|lock:cycle-line|host:)")
_WRITES = {"SET", "SETNX", "HSET", "HMSET", "HDEL", "HINCRBY", "ZADD", "ZREM", "DEL", "RPUSH",
           "LPUSH", "EVALSHA", "EVAL", "FCALL", "EXPIRE", "PEXPIRE", "INCR", "INCRBY"}


class StoreWriteWatch(threading.Thread):
    """Follows the private Redis's MONITOR and counts the store's own writes as `ledger`
    moments, so a kill can land right after the k-th of them (between two steps)."""

    def __init__(self, redis_server: PrivateRedis, moments: Moments) -> None:
        super().__init__(daemon=True)
        self.redis_server, self.moments = redis_server, moments
        self.stopped = threading.Event()

    def run(self) -> None:
        import redis

        while not self.stopped.is_set():
            try:
                client = redis.Redis(port=self.redis_server.port, socket_connect_timeout=1)
                with client.monitor() as monitor:
                    while not self.stopped.is_set():
                        command = monitor.next_command()["command"]
                        name = command.split(" ", 1)[0].upper()
                        if name in _WRITES and "newswatch:" in command and not _NOT_LEDGER.search(command):
                            self.moments.hit("ledger")
            except (redis.exceptions.RedisError, OSError, ValueError):
                self.stopped.wait(0.2)  # Redis is restarting: follow it again when it is back

    def stop(self) -> None:
        self.stopped.set()


# ------------------------------------------------------------------------------ processes


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def kill_process_group(process: subprocess.Popen) -> int:
    """SIGKILL the process and everything in its group (prefork children); wait until
    none of them is alive, so every socket they held is closed. Returns how many died."""
    pgid = process.pid
    doomed = len(group_members(pgid))
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=30)
    wait_for(lambda: not group_members(pgid), timeout=30, what=f"process group {pgid} to die")
    return doomed
