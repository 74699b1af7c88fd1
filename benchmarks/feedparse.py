"""CPU time to read one realistic feed: ``read_feed`` (lxml fast path) vs ``feedparser.parse``.

    .venv/bin/python benchmarks/feedparse.py [--rounds 7] [--per-round 20]

The feed is generated deterministically: RSS 2.0, 50 items, ~60 KB, shaped like
Kompas (CDATA titles and bodies, dc:creator, categories, enclosures, +0700 dates).
Budget: 10,000 sources per 5 minutes is 33 polls/s on 2 cores, so a 200 response
must cost well under 30 ms of CPU. Timing is process CPU time, best of N rounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser

from worker.fetch import FetchResponse
from worker.sources import read_feed
from worker.sources.feed import parse_xml

FEED_URL = "https://rss.kompas.com/api/feed/global"
WIB = timezone(timedelta(hours=7))
WORDS = ("Armenia Azerbaijan Nagorno-Karabakh Yerevan Baku gencatan senjata pasukan perdamaian Rusia "
         "perbatasan wilayah distrik pemerintah menteri luar negeri warga pengungsi kota desa").split()


def make_feed(entries: int = 50) -> bytes:
    """A ~60 KB Kompas-shaped RSS 2.0 feed; the same bytes on every run."""
    start = datetime(2020, 11, 21, 20, 0, tzinfo=WIB)
    items = []
    for i in range(entries):
        when = format_datetime(start - timedelta(minutes=17 * i))
        words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(30)]
        paragraphs = "".join(f"<p>{' '.join(words[k:k + 10])}.</p>" for k in range(0, 30, 10))
        slug = "-".join(words[:6]).lower()
        items.append(
            f"<item><title><![CDATA[{' '.join(words[:9]).capitalize()} ({i})]]></title>"
            f"<link>https://www.kompas.com/global/read/2020/11/21/{200000000 + i}/{slug}</link>"
            f"<guid isPermaLink=\"false\">kompas-{200000000 + i}</guid><pubDate>{when}</pubDate>"
            f"<dc:creator><![CDATA[Penulis {i % 7}]]></dc:creator>"
            f"<category><![CDATA[Global]]></category><category><![CDATA[{words[1]}]]></category>"
            f"<description><![CDATA[{' '.join(words[:25])}.]]></description>"
            f"<content:encoded><![CDATA[<p><strong>YEREVAN, KOMPAS.com</strong> - {paragraphs}"
            f"<p>Baca juga: <a href=\"/global/read/2020/11/20/{i}\">{slug}</a></p>]]></content:encoded>"
            f"<enclosure url=\"https://asset.kompas.com/crops/{i}.jpg\" length=\"0\" type=\"image/jpeg\"/></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        "<title>Kompas.com - Global</title><link>https://www.kompas.com/global</link>"
        "<description>Berita Internasional Terkini</description><language>id-ID</language><ttl>5</ttl>"
        f'<atom:link href="{FEED_URL}" rel="self" type="application/rss+xml"/>'
        + "".join(items) + "</channel></rss>"
    ).encode()


def best_ms(work: Callable[[], object], rounds: int, per_round: int) -> float:
    """Lowest CPU ms per call over ``rounds`` rounds of ``per_round`` calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(per_round):
            work()
        best = min(best, (time.process_time() - started) / per_round * 1000)
    return best


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=7)
    args.add_argument("--per-round", type=int, default=20)
    options = args.parse_args()
    body = make_feed()
    response = FetchResponse(url=FEED_URL, status=200, headers={}, body=body, not_modified=False, etag=None,
                             last_modified=None, elapsed_ms=0, content_type="application/rss+xml; charset=UTF-8",
                             max_age=None, retry_after=None)
    entries, ttl = read_feed(response)
    assert len(entries) == 50 and ttl == 300.0, (len(entries), ttl)
    assert type(parse_xml(body, FEED_URL, response.content_type)).__name__ == "ParsedFeed", "fast path not taken"

    fast = best_ms(lambda: read_feed(response), options.rounds, options.per_round)
    reference = best_ms(lambda: feedparser.parse(body, response_headers={"content-type": "application/xml"}),
                        options.rounds, options.per_round // 4 or 1)
    unsanitised = best_ms(lambda: feedparser.parse(body, response_headers={"content-type": "application/xml"},
                                                   sanitize_html=False, resolve_relative_uris=False),
                          options.rounds, options.per_round // 4 or 1)
    print(f"feed: {len(body) / 1024:.1f} KB, {len(entries)} entries "
          f"(best of {options.rounds} rounds, CPU time, {datetime.now(UTC):%Y-%m-%d})")
    print(f"read_feed (lxml fast path, FeedEntry out) {fast:8.2f} ms/feed")
    print(f"feedparser.parse (reference)              {reference:8.2f} ms/feed")
    print(f"feedparser.parse (no sanitise/resolve)    {unsanitised:8.2f} ms/feed")
    print(f"ratio feedparser / fast path              {reference / fast:8.1f}x")
    print(f"polls/s per core at this cost (200s only) {1000 / fast:8.0f}")


if __name__ == "__main__":
    main()
