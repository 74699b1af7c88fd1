"""Soak: `newswatch run` (embedded) for a long while against hundreds of local feeds, with faults.

    .venv/bin/python benchmarks/soak.py                          # 300 feeds, 30 minutes
    .venv/bin/python benchmarks/soak.py --minutes 3 --feeds 100   # a quick look

Everything runs on 127.0.0.1. One asyncio server (in this process) serves the feeds and
the webhook receiver; an aiosmtpd server takes the emails. Each live feed publishes a new
item every --publish-every seconds (feeds out of phase with one another) until the run's
time is up; one item in --match-every mentions Armenia and Azerbaijan, so the shipped
topic alerts on it, by webhook and by email. Faults:
  - dead sites (--dead): their URL is a port nobody listens on (connection refused);
  - slow sites (--slow): they answer after --slow-latency seconds;
  - the webhook receiver answers 500 to one request in --fail-every (newswatch retries).
Half the live feeds send ETag/Last-Modified (and get 304s), the others never do.

Figures, against references measured in the same run: the newswatch process's RSS, open
file descriptors and threads every --sample-every seconds, with RSS growth after the
first --warmup minutes against its own value then (must stay under 10%); alerts expected
(the server knows every matching item it published on a live feed) against alerts
received, per channel: lost and duplicated must both be 0. After the publishing stops,
the run drains: it waits (at most --drain seconds) for the last alerts, then one more
poll interval so that a late duplicate would still be seen. Exit status 1 when a check
fails.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(Path(__file__).resolve().parent), str(ROOT / "tests")]

from _feedserver import _ALERT_SENTENCES, _POOL, Server  # noqa: E402
from servers import SMTPServer, free_port  # noqa: E402

from worker.durations import parse_duration  # noqa: E402

ITEM = re.compile(r"/read/s(\d+)/n(\d+)\b")
WINDOW = 50  # items a feed lists, newest first


def parse_seconds(text: str) -> float:
    """A duration as the config writes it ("30s", "2m"), read by the config's own reader."""
    seconds = parse_duration(text.strip())
    if seconds is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}")
    return seconds


# --------------------------------------------------------------------------- the feeds


class Publisher:
    """Which items each live feed has published at a given time (a pure function of time)."""

    def __init__(self, feeds: int, start: float, stop: float, every: float, initial: int, match_every: int) -> None:
        self.feeds, self.start, self.stop, self.every = feeds, start, stop, every
        self.initial, self.match_every = initial, match_every

    def phase(self, source: int) -> float:
        return (source * 7919) % 1000 / 1000 * self.every  # spreads the feeds' publishing

    def published_at(self, source: int, seq: int) -> float:
        if seq < self.initial:
            return self.start - (self.initial - seq) * self.every
        return self.start + self.phase(source) + (seq - self.initial + 1) * self.every

    def count(self, source: int, now: float) -> int:
        """Items published on `source` by `now` (nothing new after the stop time)."""
        now = min(now, self.stop)
        elapsed = now - self.start - self.phase(source)
        return self.initial + (int(elapsed // self.every) if elapsed >= self.every else 0)

    def matches(self, source: int, seq: int) -> bool:
        return (source * 31 + seq * 7) % self.match_every == 0

    def expected(self, live: list[int]) -> set[tuple[int, int]]:
        """Every matching item published on a live feed over the whole run."""
        return {(source, seq) for source in live for seq in range(self.count(source, self.stop))
                if self.matches(source, seq)}


@functools.lru_cache(maxsize=100_000)
def render_item(base: str, source: int, seq: int, published: float, matching: bool) -> bytes:
    """A ~1 KB item with text of its own: six sentences of the shared pool picked by a hash,
    so no two items share more than a sentence by chance and none passes for a republished
    copy of another (which would rightly merge their alerts)."""
    digest = hashlib.blake2b(f"{source}/{seq}".encode(), digest_size=24).digest()
    picks = [int.from_bytes(digest[k:k + 4], "big") % len(_POOL) for k in range(0, 24, 4)]
    sentences = [_POOL[pick] for pick in picks]
    title = f"Laporan {source}-{seq}: " + sentences[0].split(".")[0]
    if matching:
        title = f"Armenia dan Azerbaijan: {title}"
        sentences.insert(1, _ALERT_SENTENCES[seq % len(_ALERT_SENTENCES)])
    link = f"{base}/read/s{source}/n{seq}/"
    return (f"<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"true\">{link}</guid>"
            f"<pubDate>{formatdate(published, usegmt=True)}</pubDate>"
            f"<description><![CDATA[<p>{' '.join(sentences)}</p>]]></description></item>").encode()


class SoakServer(Server):
    """Feeds on /f/<i>.xml (slow ones on /slow/<i>.xml) and the webhook receiver on /hook;
    the HTTP handling is the throughput benchmark's server's."""

    def __init__(self, publisher: Publisher, slow_latency: float, fail_every: int) -> None:
        super().__init__(feeds=None, latency=0.0)
        self.publisher, self.slow_latency, self.fail_every = publisher, slow_latency, fail_every
        self.base = ""
        self.feed_requests: Counter[str] = Counter()  # "200", "304", "slow"
        self.hook_requests = 0
        self.hook_failed = 0
        self.webhooks: list[tuple[str, tuple[int, int] | None]] = []  # answered 200: delivery id, item

    async def answer(self, method: str, path: str, headers: dict[str, str], body: bytes,
                     started: float) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and path == "/hook":
            self.hook_requests += 1
            if self.hook_requests % self.fail_every == 0:
                self.hook_failed += 1
                return 500, {"Content-Type": "text/plain"}, b"receiver hiccup"
            found = ITEM.search(body.decode("utf-8", "replace"))
            item = (int(found.group(1)), int(found.group(2))) if found else None
            self.webhooks.append((headers.get("x-newswatch-delivery", ""), item))
            return 200, {"Content-Type": "text/plain"}, b"ok"
        slow = path.startswith("/slow/")
        if slow or path.startswith("/f/"):
            if slow:
                self.feed_requests["slow"] += 1
                await asyncio.sleep(self.slow_latency)
            return self.feed(int(path.rsplit("/", 1)[1].split(".", 1)[0]), headers)
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def feed(self, source: int, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        publisher = self.publisher
        count = publisher.count(source, time.time())
        validators = {}
        if source % 2 == 0:
            newest = publisher.published_at(source, count - 1)
            validators = {"ETag": f'"{source}-{count}"', "Last-Modified": formatdate(newest, usegmt=True)}
            if headers.get("if-none-match") == validators["ETag"]:
                self.feed_requests["304"] += 1
                return 304, validators, b""
        self.feed_requests["200"] += 1
        items = b"".join(render_item(self.base, source, seq, publisher.published_at(source, seq),
                                     publisher.matches(source, seq))
                         for seq in reversed(range(max(0, count - WINDOW), count)))
        head = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>Soak feed {source}</title><link>{self.base}/</link>"
                f"<description>soak</description>").encode()
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8", **validators}, \
            head + items + b"</channel></rss>"


def serve_in_thread(server: SoakServer) -> int:
    """Run the asyncio server on a thread of its own; returns its port."""
    ready: list[int] = []
    started = threading.Event()

    async def main() -> None:
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
        ready.append(listener.sockets[0].getsockname()[1])
        started.set()
        async with listener:
            await listener.serve_forever()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    if not started.wait(30):
        raise SystemExit("soak: the feed server did not start")
    return ready[0]


def email_item(message: EmailMessage) -> tuple[str, tuple[int, int] | None]:
    """An email's Message-ID and the item its link names."""
    text = message.get_body(("plain",))
    found = ITEM.search(text.get_content() if text else "")
    return str(message.get("Message-ID", "")), (int(found.group(1)), int(found.group(2))) if found else None


# --------------------------------------------------------------------------- the run


def write_config(folder: Path, sources: list[dict], hook_url: str, smtp_port: int) -> Path:
    shipped = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text())
    topic = next(t for t in shipped["topics"] if t["id"] == "armenia-azerbaijan")
    retry = {"backoff": "5s", "max_backoff": "30s", "max_age": "1h"}
    config = {
        "sources": sources,
        "terms": shipped.get("terms", {}),  # the named lists the shipped query uses
        "topics": [{**topic, "channels": ["desk-email", "ops-webhook"]}],
        "channels": [
            {"id": "desk-email", "type": "email", "to": ["desk@example.org"], "from": "soak@example.org",
             "smtp_url": f"smtp://127.0.0.1:{smtp_port}", "retry": retry},
            {"id": "ops-webhook", "type": "webhook", "url": hook_url, "secret": "soak-secret", "retry": retry},
        ],
        "settings": {
            "redis_url": "", "state_path": str(folder / "state.db"), "allow_private_networks": True,
            "tick_every": "2s", "fetch_timeout": "20s",
            # every feed is on 127.0.0.1: politeness per host would throttle the whole run
            "per_host_interval": "0s", "per_host_concurrency": 8,
        },
    }
    path = folder / "config"
    path.mkdir()
    (path / "newswatch.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def proc_figures(pid: int) -> tuple[float, int, int] | None:
    """RSS in MB, open file descriptors, threads of a live process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss_line = re.search(r"VmRSS:\s+(\d+)", status)
    if rss_line is None:  # a zombie: the process has exited and not been reaped yet
        return None
    rss = int(rss_line.group(1)) / 1024
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    return rss, fds, threads


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long feeds publish (default 30)")
    parser.add_argument("--feeds", type=int, default=300, help="sources in the config, dead and slow ones included")
    parser.add_argument("--dead", type=int, default=2, help="sources whose site refuses connections")
    parser.add_argument("--slow", type=int, default=3, help="sources whose site answers slowly")
    parser.add_argument("--slow-latency", type=parse_seconds, default=8.0)
    parser.add_argument("--every", type=parse_seconds, default=60.0, help="poll interval of every source")
    parser.add_argument("--publish-every", type=parse_seconds, default=120.0, help="a new item per feed every …")
    parser.add_argument("--initial-items", type=int, default=5)
    parser.add_argument("--match-every", type=int, default=10, help="one item in N alerts")
    parser.add_argument("--fail-every", type=int, default=10, help="the webhook answers 500 to one request in N")
    parser.add_argument("--sample-every", type=parse_seconds, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="minutes before RSS growth is measured")
    parser.add_argument("--drain", type=parse_seconds, default=300.0, help="longest wait for the last alerts")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (config, state, log)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="newswatch-soak-"))
    duration = args.minutes * 60
    warmup = args.warmup * 60
    if duration < 1.5 * warmup:
        warmup = duration / 3
        print(f"soak: a short run; RSS growth is measured after {warmup / 60:.1f} min, not {args.warmup:g}")
    start = time.time()
    publisher = Publisher(args.feeds, start, start + duration, args.publish_every, args.initial_items,
                          args.match_every)
    server = SoakServer(publisher, args.slow_latency, args.fail_every)
    port = serve_in_thread(server)
    server.base = f"http://127.0.0.1:{port}"
    email = SMTPServer().start()  # keeps every message it accepts
    dead_port = free_port()  # nothing listens there: connection refused

    sources, live = [], []
    for source in range(args.feeds):
        if source < args.dead:
            url = f"http://127.0.0.1:{dead_port}/f/{source}.xml"
        elif source < args.dead + args.slow:
            url = f"{server.base}/slow/{source}.xml"
            live.append(source)
        else:
            url = f"{server.base}/f/{source}.xml"
            live.append(source)
        sources.append({"id": f"soak-{source}", "url": url, "kind": "feed", "every": f"{args.every:g}s",
                        "language": "id"})
    config = write_config(workdir, sources, f"{server.base}/hook", email.port)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "NEWSWATCH_CONFIG")}
    env["PYTHONPATH"] = str(ROOT)
    log_path = workdir / "newswatch.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "worker.cli", "run", "--config", str(config)],
                                   cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    print(f"soak: {args.feeds} feeds ({args.dead} dead, {args.slow} slow at {args.slow_latency:g}s), "
          f"poll every {args.every:g}s, an item per feed every {args.publish_every:g}s, 1 in {args.match_every} "
          f"alerts, webhook fails 1 in {args.fail_every}; {args.minutes:g} min; pid {process.pid}; work in {workdir}")

    samples: list[tuple[float, float, int, int, int, int, int]] = []  # t, rss, fds, threads, polls, hooks, mails

    def sample() -> bool:
        figures = proc_figures(process.pid)
        if figures is None or process.poll() is not None:
            return False
        polls = server.feed_requests["200"] + server.feed_requests["304"]
        samples.append((time.time() - start, *figures, polls, len(server.webhooks), len(email.messages)))
        t, rss, fds, threads, polls, hooks, mails = samples[-1]
        print(f"  t={t / 60:5.1f} min  rss={rss:6.1f} MB  fds={fds:4d}  threads={threads:3d}  polls={polls:6d}  "
              f"webhooks={hooks:5d}  emails={mails:5d}", flush=True)
        return True

    expected = publisher.expected(live)

    def received(channel: Iterable[tuple[str, tuple[int, int] | None]]) -> set[tuple[int, int]]:
        return {item for _, item in channel if item is not None}

    exit_code = None
    try:
        next_sample = start + args.sample_every
        while time.time() < start + duration:
            time.sleep(max(0.0, min(next_sample, start + duration) - time.time()))
            if time.time() >= next_sample:
                if not sample():
                    break
                next_sample += args.sample_every
        drain_until = time.time() + args.drain
        print(f"soak: publishing stopped; draining (at most {args.drain:g}s) for {len(expected)} alerts per channel")
        while process.poll() is None and time.time() < drain_until:
            if expected <= received(server.webhooks) and expected <= received(map(email_item, email.messages)):
                break
            time.sleep(1.0)
        done_at = time.time()
        # One more poll interval with nothing new: a late duplicate would still arrive.
        while process.poll() is None and time.time() < done_at + args.every + 10:
            time.sleep(1.0)
        sample()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                exit_code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                exit_code = "killed after 60 s"
        else:
            exit_code = f"died early with {process.returncode}"
        email.stop()

    return report(args, samples, warmup, expected, server, email, log_path, exit_code, workdir)


def report(args: argparse.Namespace, samples: list, warmup: float, expected: set, server: SoakServer,
           email: SMTPServer, log_path: Path, exit_code: object, workdir: Path) -> int:
    ok = True
    print("\nthe newswatch process over time")
    print(table(["min", "RSS MB", "fds", "threads", "polls", "webhooks", "emails"],
                [[f"{t / 60:.1f}", f"{rss:.1f}", fds, threads, polls, hooks, mails]
                 for t, rss, fds, threads, polls, hooks, mails in samples]))
    after = [s for s in samples if s[0] >= warmup]
    if len(after) >= 2:
        base, last = after[0][1], after[-1][1]
        peak = max(s[1] for s in after)
        growth = (last - base) / base * 100
        verdict = "ok" if growth < 10 else "FAIL"
        ok &= growth < 10
        print(f"\nRSS after {after[0][0] / 60:.1f} min (reference): {base:.1f} MB; at the end: {last:.1f} MB; "
              f"peak since: {peak:.1f} MB; growth {growth:+.1f}% (limit +10%): {verdict}")
    else:
        print("\nRSS growth: not enough samples after the warm-up")
        ok = False
    if samples:
        fds = [s[2] for s in samples]
        print(f"file descriptors: first {fds[0]}, min {min(fds)}, max {max(fds)}, last {fds[-1]}")

    rows = []
    for name, channel in (("webhook", server.webhooks), ("email", [email_item(m) for m in email.messages])):
        got = Counter(item for _, item in channel if item is not None)
        keys = Counter(key for key, _ in channel)
        lost = len(expected - set(got))
        duplicated = sum(n - 1 for n in got.values() if n > 1)
        same_key = sum(n - 1 for n in keys.values() if n > 1)
        unexpected = len(set(got) - expected)
        ok &= lost == 0 and duplicated == 0 and unexpected == 0 and same_key == 0
        rows.append([name, len(expected), len(channel), lost, duplicated, same_key, unexpected])
    print("\nalerts")
    print(table(["channel", "expected", "received", "lost", "duplicated", "same id twice", "unexpected"], rows))

    log = log_path.read_text(errors="replace")
    dead_errors = sum(1 for found in re.finditer(r"task=poll_source source=soak-(\d+) status=error", log)
                      if int(found.group(1)) < args.dead)
    other_errors = len(re.findall(r"task=poll_source source=soak-\d+ status=error", log)) - dead_errors
    tracebacks = log.count("Traceback")
    print(f"\nfaults: dead sites' failed polls {dead_errors} (other sources' failed polls: {other_errors}); "
          f"slow-site requests {server.feed_requests['slow']}; "
          f"webhook 500s {server.hook_failed} of {server.hook_requests} requests; "
          f"feed answers 200: {server.feed_requests['200']}, 304: {server.feed_requests['304']}")
    print(f"newswatch: tracebacks in its log {tracebacks}; exit on SIGTERM: {exit_code}")
    ok &= exit_code == 0
    print(f"\nsoak: {'PASS' if ok else 'FAIL'} (log: {log_path if args.keep else 'removed; --keep keeps it'})")
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
