"""Push-to-alert of WebSub against poll-to-alert, in the same run, on real processes.

    .venv/bin/python benchmarks/websub_push.py                          # embedded, 30 entries each
    .venv/bin/python benchmarks/websub_push.py --mode distributed --redis-url redis://127.0.0.1:6379/1

Started as a deployment runs them: `newswatch run` + `newswatch web` (embedded, one
state file), or `celery worker` + `celery beat` + `newswatch web` (distributed; the Redis
database given is flushed before and after). On 127.0.0.1 in this process: a site with
two feeds, a WebSub hub (verifies intent on the real callback, signs with sha256) and
the webhook receiver.

- push: the hub distributes one new on-topic entry; timed from the hub's POST to the
  alert at the receiver.
- reference, poll: the same kind of entry on a feed without a hub, its poll forced (due
  now in the store); timed from the site answering the poll's GET to the alert.

Goal (issue 13): push-to-alert p95 < 2 s. The ratio push/poll says what the push path
costs against the work of a poll (both include topic matching and the webhook send).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from throughput import Processes  # noqa: E402

from worker.models import Settings  # noqa: E402
from worker.store import open_store  # noqa: E402


class Loopback:
    """Site, hub and webhook receiver in one threaded HTTP server on 127.0.0.1."""

    def __init__(self) -> None:
        self.feeds: dict[str, list[str]] = {"/pushed": [], "/polled": []}  # path -> entry slugs
        self.polled_at: dict[str, float] = {}  # slug -> when a poll's GET first listed it
        self.alerts: dict[str, float] = {}  # entry URL -> when its alert arrived
        self.hook_posts = 0  # every alert received, repeats included
        self.subscriber: tuple[str, str] | None = None  # callback, secret
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path not in owner.feeds:
                    return self._send(404, b"no")
                now = time.time()
                with owner.lock:
                    slugs = list(owner.feeds[path])
                    if path == "/polled":
                        for slug in slugs:
                            owner.polled_at.setdefault(slug, now)
                self._send(200, owner.feed(path, slugs), "application/atom+xml")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/hook":
                    url = json.loads(body)["article"]["url"]
                    with owner.lock:
                        owner.alerts.setdefault(url, time.time())
                        owner.hook_posts += 1
                    return self._send(200, b"ok")
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                threading.Thread(target=owner.verify, args=(form,), daemon=True).start()
                self._send(202, b"accepted")

            def _send(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def feed(self, path: str, slugs: list[str]) -> bytes:
        hub = f"<link rel='hub' href='{self.base}/hub'/>" if path == "/pushed" else ""
        items = "".join(
            f"<entry><id>{self.base}/a/{slug}</id><title>Armenia and Azerbaijan: {_words(slug, 8)}</title>"
            f"<link href='{self.base}/a/{slug}'/><updated>2026-12-01T10:00:00Z</updated>"
            f"<summary>{_words(slug + 's', 40)}</summary></entry>" for slug in slugs)
        return (f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>B</title>"
                f"<id>{self.base}{path}</id><updated>2026-12-01T10:00:00Z</updated>{hub}"
                f"<link rel='self' href='{self.base}{path}'/>{items}</feed>").encode()

    def verify(self, form: dict[str, str]) -> None:
        challenge = secrets.token_hex(8)
        query = urllib.parse.urlencode({"hub.mode": form["hub.mode"], "hub.topic": form["hub.topic"],
                                        "hub.challenge": challenge, "hub.lease_seconds": "86400"})
        with urllib.request.urlopen(f"{form['hub.callback']}?{query}", timeout=10) as answer:
            if answer.read().decode() == challenge and form["hub.mode"] == "subscribe":
                self.subscriber = (form["hub.callback"], form["hub.secret"])

    def publish(self, slug: str) -> float:
        callback, secret = self.subscriber or ("", "")
        body = self.feed("/pushed", [slug])
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        started = time.time()
        request = urllib.request.Request(callback, data=body, method="POST", headers={
            "Content-Type": "application/atom+xml", "X-Hub-Signature": f"sha256={signature}"})
        with urllib.request.urlopen(request, timeout=10):
            pass
        return started


def _words(seed: str, count: int) -> str:
    """Made-up words of its own per entry: alike texts would be grouped as one story
    (near-duplicates) and alerted once."""
    letters = "abcdefghiklmnoprstuvz"
    digest = hashlib.sha512(seed.encode()).digest() * 4
    return " ".join("".join(letters[b % len(letters)] for b in digest[i * 6:i * 6 + 6])
                    for i in range(count))


def wait(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def summary(name: str, values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95, "max": ordered[-1], "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--redis-url", default="", help="distributed: a Redis database to flush and use")
    parser.add_argument("--entries", type=int, default=30)
    args = parser.parse_args()
    if args.mode == "distributed" and not args.redis_url:
        raise SystemExit("--mode distributed needs --redis-url (a database this run may flush)")
    folder = Path(tempfile.mkdtemp(prefix="websub-bench-"))
    net = Loopback()
    web_port = _free_port()
    settings = {"state_path": str(folder / "state.db"), "allow_private_networks": True,
                "per_host_interval": 0, "tick_every": "1s", "history": 0,
                "public_url": f"http://127.0.0.1:{web_port}",
                "redis_url": args.redis_url if args.mode == "distributed" else ""}
    (folder / "newswatch.yaml").write_text(yaml.safe_dump({
        "sources": [{"id": "pushed", "url": f"{net.base}/pushed", "every": "1h"},
                    {"id": "polled", "url": f"{net.base}/polled", "every": "1h"}],
        "topics": [{"id": "talks", "query": "armenia AND azerbaijan", "channels": ["hook"]}],
        "channels": [{"id": "hook", "type": "webhook", "url": f"{net.base}/hook"}],
        "settings": settings}))
    store = open_store(Settings(**{k: v for k, v in settings.items()
                                   if k in ("state_path", "redis_url")}))
    if args.mode == "distributed":
        store.client.flushdb()
    env = {**os.environ, "NEWSWATCH_CONFIG": str(folder)}
    processes = Processes(folder)
    python = str(ROOT / ".venv" / "bin" / "python")
    try:
        processes.start("web", [python, "-m", "worker.cli", "web", "--config", str(folder),
                                "--bind", f"127.0.0.1:{web_port}"], env)
        if args.mode == "embedded":
            processes.start("run", [python, "-m", "worker.cli", "run", "--config", str(folder)], env)
        else:
            celery = str(ROOT / ".venv" / "bin" / "celery")
            processes.start("worker", [celery, "-A", "worker.app", "worker", "--concurrency=4",
                                       "--without-gossip", "--without-mingle"], env)
            processes.start("beat", [celery, "-A", "worker.app", "beat", "--schedule",
                                     str(folder / "beat-schedule")], env)
        wait(lambda: net.subscriber is not None, "the hub's verified subscription")
        push, poll = [], []
        for index in range(args.entries):
            slug = f"p{index}"
            with net.lock:
                net.feeds["/pushed"].append(slug)  # as a site would: the feed lists it too
            started = net.publish(slug)
            url = f"{net.base}/a/{slug}"
            wait(lambda url=url: url in net.alerts, f"the alert of pushed {slug}")
            push.append(net.alerts[url] - started)
        for index in range(args.entries):
            slug = f"q{index}"
            with net.lock:
                net.feeds["/polled"].append(slug)
            store.schedule("polled", 0.0)
            url = f"{net.base}/a/{slug}"
            wait(lambda url=url: url in net.alerts, f"the alert of polled {slug}")
            poll.append(net.alerts[url] - net.polled_at[slug])
            # The poll records its next due time after the alert is out: forcing the next
            # one before that would be undone by it.
            wait(lambda slug=slug: (store.source_state("polled").last_poll_end or 0) > net.polled_at[slug],
                 f"the poll of {slug} to be recorded")
        # The pushed entries are in their feed too: a poll of it must alert none again.
        before = store.source_state("pushed").last_poll_end or 0
        store.schedule("pushed", 0.0)
        wait(lambda: (store.source_state("pushed").last_poll_end or 0) > before,
             "the safety-net poll of the pushed feed")
        pushed, polled = summary("push", push), summary("poll", poll)
        print(f"mode={args.mode} entries={args.entries}")
        for name, figures in (("push-to-alert", pushed), ("poll-to-alert (reference)", polled)):
            print(f"  {name:28s} p50 {figures['p50']:.3f} s  p95 {figures['p95']:.3f} s  "
                  f"max {figures['max']:.3f} s")
        print(f"  ratio push/poll            p50 {pushed['p50'] / polled['p50']:.2f}  "
              f"p95 {pushed['p95'] / polled['p95']:.2f}")
        print(f"  alerts {net.hook_posts} for {2 * args.entries} entries (after a poll of the "
              f"pushed feed too): duplicates {net.hook_posts - len(net.alerts)}; goal push p95 < 2 s: "
              f"{'met' if pushed['p95'] < 2 else 'NOT met'}")
    finally:
        processes.stop_all()
        if args.mode == "distributed":
            store.client.flushdb()
        store.close()
        net.server.shutdown()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
