"""Alerts per second through the delivery path (ledger + retries machinery) vs a bare send loop.

    python benchmarks/delivery.py [--alerts 300] [--store sqlite|redis|both] [--rounds 3]

Both sides send the same alerts to the same local webhook receiver and SMTP server
(aiosmtpd) on 127.0.0.1. newswatch's side runs `ledger.create_delivery` +
`delivery.deliver` for each alert (ledger insert claimed for the first attempt, send,
finish: what a poll task and a deliver task do);
the reference is a plain loop of `requests.post` / `smtplib.send_message` of the
same rendered payloads. The ratio is what counts on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers import HTTPServer, SMTPServer  # noqa: E402

from worker import delivery, ledger  # noqa: E402
from worker.alerts.sample import sample_alert  # noqa: E402
from worker.models import Channel, Config, Settings, Topic  # noqa: E402
from worker.runtime import Runtime  # noqa: E402


class InlineDispatcher:
    """Deliveries run inline in the benchmark: keep the job's arguments, as a queue would."""

    def __init__(self) -> None:
        self.last: tuple[object, ...] = ()

    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        assert job == "deliver" and not countdown
        self.last = args


def build_runtime(store_kind: str, receiver: HTTPServer, smtp: SMTPServer, folder: Path) -> Runtime:
    settings = Settings(
        state_path=str(folder / f"bench-{time.time_ns()}.db"),
        redis_url="redis://127.0.0.1:6379/14" if store_kind == "redis" else "",
    )
    channels = (
        Channel("hook", "webhook", {"url": receiver.url("/hook"), "secret": "bench-secret"}),
        Channel("mail", "email", {"to": ["desk@example.org"], "from": "nw@example.org",
                                  "smtp_url": smtp.url}),
    )
    topic = Topic("armenia-azerbaijan", "Armenia–Azerbaijan", "armenia", channels=("hook", "mail"))
    runtime = Runtime(Config((), (topic,), channels, settings), InlineDispatcher())
    if store_kind == "redis":
        runtime.store.client.flushdb()
    return runtime


def newswatch_loop(runtime: Runtime, alerts: int, channel: str) -> float:
    template = replace(sample_alert(channel), channel_id=channel)
    started = time.perf_counter()
    for index in range(alerts):
        alert = replace(template, id=f"{channel}-{index}-{time.time_ns()}",
                        detected_at=datetime.now(UTC))
        now = time.time()
        assert ledger.create_delivery(runtime, alert, now)
        # what a deliver task receives: the alert id and the record claimed for its first attempt
        assert delivery.deliver(runtime, *runtime.dispatcher.last) == "sent"
    return time.perf_counter() - started


def bare_webhook_loop(receiver: HTTPServer, alerts: int) -> float:
    """What any sender must do per alert: serialise its payload and POST it (no ledger)."""
    session = requests.Session()
    alert = sample_alert("hook")
    started = time.perf_counter()
    for _ in range(alerts):
        payload = json.dumps(alert.payload(), ensure_ascii=False).encode()
        response = session.post(receiver.url("/hook"), data=payload,
                                headers={"Content-Type": "application/json"}, timeout=10)
        response.raise_for_status()
    return time.perf_counter() - started


def bare_email_loop(smtp: SMTPServer, alerts: int) -> float:
    alert = sample_alert("mail")
    started = time.perf_counter()
    for index in range(alerts):
        message = EmailMessage()
        message["Subject"] = f"[{alert.topic.name}] {alert.article.title}"
        message["From"], message["To"] = "nw@example.org", "desk@example.org"
        message["Message-ID"] = f"<bare-{index}@newswatch>"
        message.set_content(alert.article.text)
        message.add_alternative(f"<p>{alert.article.text}</p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as client:
            client.send_message(message)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--store", choices=["sqlite", "redis", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="best of N alternating rounds")
    args = parser.parse_args()
    receiver = HTTPServer().start()
    receiver.routes["/hook"] = (200, {"Content-Type": "text/plain"}, b"ok")
    smtp = SMTPServer().start()
    stores = ["sqlite", "redis"] if args.store == "both" else [args.store]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        # warm up both sides once (imports, connection set-up)
        bare_webhook_loop(receiver, 10)
        for store_kind in stores:
            runtime = build_runtime(store_kind, receiver, smtp, Path(folder))
            newswatch_loop(runtime, 10, "hook")
            # Alternate the two sides and keep each one's best round: a noisy neighbour
            # then slows both, not whichever happened to run at the wrong moment.
            webhook_ours = webhook_bare = email_ours = email_bare = float("inf")
            for _ in range(args.rounds):
                webhook_ours = min(webhook_ours, newswatch_loop(runtime, args.alerts, "hook"))
                webhook_bare = min(webhook_bare, bare_webhook_loop(receiver, args.alerts))
                email_ours = min(email_ours, newswatch_loop(runtime, args.alerts // 3, "mail"))
                email_bare = min(email_bare, bare_email_loop(smtp, args.alerts // 3))
            rows.append((store_kind, "webhook", args.alerts, webhook_ours, webhook_bare))
            rows.append((store_kind, "email", args.alerts // 3, email_ours, email_bare))
            runtime.close()
    receiver.stop()
    smtp.stop()
    print(f"{'store':8} {'channel':8} {'alerts':>6} {'newswatch/s':>12} {'bare/s':>9} {'cost':>6}")
    for store_kind, channel, count, ours, bare in rows:
        print(f"{store_kind:8} {channel:8} {count:>6} {count / ours:>12.0f} {count / bare:>9.0f} "
              f"{ours / bare:>5.2f}x")
    print("goal: the ledger and retries cost under 2x the bare loop")


if __name__ == "__main__":
    main()
