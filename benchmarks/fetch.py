"""Polls per second of a 50-entry feed served locally: Fetcher + read_entries vs a bare loop.

    .venv/bin/python benchmarks/fetch.py [--polls 200]

The bare loop is what the safety layer is measured against: ``requests.get`` +
``feedparser.parse``. Goal: the guarded path costs < 1.3x the bare loop per
poll on the 200 path. A ``requests.Session`` (keep-alive) bare loop is shown too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser
import requests

from worker.fetch import Fetcher, NoLimit
from worker.models import Settings, Source
from worker.sources import read_entries

ETAG = '"feed-v1"'


def make_feed(entries: int = 50) -> bytes:
    start = datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    items = []
    for i in range(entries):
        when = format_datetime(start - timedelta(minutes=17 * i)).replace("-0000", "+0000")
        body = "".join(
            f"<p>Paragraf {p} berita {i}: Armenia dan Azerbaijan, Nagorno-Karabakh, Yerevan, "
            f"Baku. Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>"
            for p in range(8)
        )
        items.append(
            f"<item><title>Berita nomor {i} tentang Armenia dan Azerbaijan</title>"
            f"<link>https://www.kompas.com/global/read/2020/11/21/{200000000 + i}/berita-{i}</link>"
            f"<guid isPermaLink='false'>kompas-{i}</guid><pubDate>{when}</pubDate>"
            f"<dc:creator>Penulis {i % 7}</dc:creator><category>Global</category>"
            f"<description><![CDATA[Ringkasan berita {i}.]]></description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded>"
            f"<enclosure url='https://asset.kompas.com/crops/{i}.jpg' type='image/jpeg'/></item>"
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/' "
        "xmlns:dc='http://purl.org/dc/elements/1.1/'><channel><title>Kompas.com - Global</title>"
        "<link>https://www.kompas.com/global</link><language>id-ID</language><ttl>5</ttl>"
        + "".join(items) + "</channel></rss>"
    ).encode()


def serve(feed: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # without it every keep-alive answer waits ~40 ms

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
            self.send_header("ETag", ETAG)
            self.send_header("Content-Length", str(len(feed)))
            self.end_headers()
            self.wfile.write(feed)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rate(poll: Callable[[], object], polls: int) -> float:
    started = time.perf_counter()
    for _ in range(polls):
        poll()
    return polls / (time.perf_counter() - started)


def compare(variants: dict[str, Callable[[], object]], polls: int, rounds: int) -> dict[str, float]:
    """Median polls/s per variant over interleaved rounds (a busy machine hits all alike)."""
    for poll in variants.values():  # warm-up: connections, caches
        for _ in range(3):
            poll()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, poll in variants.items():
            samples[name].append(rate(poll, max(1, polls // rounds)))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    feed = make_feed()
    server = serve(feed)
    url = f"http://127.0.0.1:{server.server_address[1]}/feed"
    source = Source(id="bench", url=url, kind="feed")
    fetcher = Fetcher(Settings(allow_private_networks=True), limiter=NoLimit())
    session = requests.Session()

    def bare_200() -> None:
        response = requests.get(url, timeout=20)
        feedparser.parse(response.content)

    def session_200() -> None:
        response = session.get(url, timeout=20)
        feedparser.parse(response.content)

    def guarded_200() -> None:
        read_entries(source, fetcher.get(url))

    def bare_304() -> None:
        response = requests.get(url, headers={"If-None-Match": ETAG}, timeout=20)
        assert response.status_code == 304

    def session_304() -> None:
        assert session.get(url, headers={"If-None-Match": ETAG}, timeout=20).status_code == 304

    def guarded_304() -> None:
        response = fetcher.get(url, etag=ETAG)
        assert response.not_modified
        read_entries(source, response)

    assert len(read_entries(source, fetcher.get(url))) == 50
    print(f"feed: 50 entries, {len(feed)} bytes; {args.polls} polls (304: x5) per row, "
          f"median of {args.rounds} interleaved rounds")
    results = compare({"bare requests.get + feedparser": bare_200,
                       "bare requests.Session + feedparser": session_200,
                       "Fetcher + read_entries": guarded_200}, args.polls, args.rounds)
    results |= compare({"bare requests.get 304": bare_304,
                        "bare requests.Session 304": session_304,
                        "Fetcher 304 + read_entries": guarded_304}, args.polls * 5, args.rounds)
    for name, value in results.items():
        print(f"  {name:<38} {value:9.1f} polls/s")

    def ratio(bare: str, ours: str) -> float:
        return results[bare] / results[ours]  # time per poll, ours / bare

    print(f"200 path: guarded/bare time per poll = "
          f"{ratio('bare requests.get + feedparser', 'Fetcher + read_entries'):.2f}x "
          f"(vs keep-alive Session: "
          f"{ratio('bare requests.Session + feedparser', 'Fetcher + read_entries'):.2f}x; "
          f"goal < 1.3x)")
    print(f"304 path: guarded/bare time per poll = "
          f"{ratio('bare requests.get 304', 'Fetcher 304 + read_entries'):.2f}x "
          f"(vs keep-alive Session: "
          f"{ratio('bare requests.Session 304', 'Fetcher 304 + read_entries'):.2f}x)")
    fetcher.close()
    session.close()
    server.shutdown()


if __name__ == "__main__":
    main()
