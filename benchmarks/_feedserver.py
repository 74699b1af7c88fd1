"""Feed server + webhook receiver for benchmarks/throughput.py, run as its own process.

    .venv/bin/python benchmarks/_feedserver.py --sources 10000 --extra-items 20 --latency 0.1

It runs in a separate process so its CPU (and GIL) is neither charged to nor taken
from the benchmark's bare loop, and so its own cost on the shared 2 cores is visible.
One asyncio loop serves every connection: the per-response latency is an
``asyncio.sleep``, so 10,000 sources answering 100 ms late never serialise.

With --slow-every N, about one source in N (both kinds) answers after --slow-latency
seconds instead: an overloaded news site that still answers.

Paths:
  GET  /f/<i>.xml   source i as the Celery worker sees it (logged; even i rotate 2 items per 200)
  GET  /b/<i>.xml   the same source for the bare loop (never rotates, not logged)
  POST /hook        the webhook receiver: records arrival time and the article URL
  GET  /__stats     JSON counters (polled by the orchestrator while it runs)
  GET  /__log       JSON: every /f/ request (source, start time, status, window) and every alert

With --full-text, every source lives on one of --hosts loopback addresses (127.0.0.2 …),
its feed and its article pages alike, as a news site would; item links point at
  GET  /read/s<i>/n<seq>/<slug>   the article page (logged; `?bare` for the bare loop, not logged)
  GET  /robots.txt                allows everything (counted)
Article pages are real news pages from ../shared/data (JSON-LD removed, <title> and the
publication date replaced, the item's own paragraphs put before the page's longest
paragraph, so the text a reader would see carries the item); a synthetic page of
realistic size when that folder is absent.

Even-numbered sources never send validators and always answer 200 with the window moved
by 2 new items since their previous 200; odd-numbered ones send ETag and Last-Modified,
answer 304 to a matching conditional request, and never change.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import re
import sys
import time
from email.utils import formatdate
from pathlib import Path

ITEMS_PER_FEED = 50
NEW_PER_POLL = 2  # new items an even-numbered (200) source adds per poll
ALERT_ONE_IN = 200  # roughly 1 in 200 entries mentions Armenia and Azerbaijan
LAST_MODIFIED = formatdate(1_795_000_000, usegmt=True)
ARTICLE_URL = re.compile(r"/read/s(\d+)/n(\d+)/")

# Indonesian-news-like vocabulary. Deliberately free of words the shipped topic's query
# reacts to ("baku", "resep", "f1", "sepakbola"…), so only the planted items match.
_WHO = ["Presiden", "Menteri Luar Negeri", "Juru bicara pemerintah", "Gubernur", "Wali kota",
        "Ketua DPR", "Kapolri", "Direktur Utama", "Pengamat ekonomi", "Warga setempat",
        "Kepala BMKG", "Menteri Keuangan", "Duta Besar", "Panglima TNI", "Rektor universitas"]
_WHERE = ["Jakarta", "Surabaya", "Bandung", "Medan", "Makassar", "Semarang", "Palembang",
          "Denpasar", "Yogyakarta", "Balikpapan", "Pontianak", "Manado", "Jayapura", "Kupang",
          "Padang", "Pekanbaru", "Banjarmasin", "Ambon", "Mataram", "Serang"]
_VERB = ["mengatakan", "menegaskan", "menjelaskan", "mengungkapkan", "menyampaikan",
         "memastikan", "mengimbau", "menilai", "membantah", "mengumumkan"]
_WHAT = ["harga beras", "anggaran daerah", "pembangunan jalan tol", "inflasi bulanan",
         "program vaksinasi", "banjir musiman", "pemilihan kepala daerah", "ekspor nikel",
         "subsidi energi", "transportasi umum", "kebakaran hutan", "pendidikan vokasi",
         "investasi asing", "pariwisata pulau", "kesehatan ibu dan anak", "cadangan devisa",
         "pelabuhan baru", "produksi padi", "kemacetan lalu lintas", "layanan digital"]
_ACTION = ["akan dievaluasi", "terus dipantau", "mulai diterapkan", "ditunda sementara",
           "segera dibahas", "dinilai berhasil", "masih menjadi sorotan", "perlu diperbaiki",
           "mendapat dukungan luas", "menuai kritik"]
_WHEN = ["pada Senin pagi", "pekan depan", "akhir bulan ini", "sejak awal tahun",
         "pada Rabu malam", "dalam waktu dekat", "hingga Desember", "pada Jumat siang"]
_EXTRA = ["Menurut data terbaru, angka tersebut naik dibanding tahun lalu.",
          "Pihaknya berkoordinasi dengan kementerian terkait untuk mempercepat proses.",
          "Masyarakat diminta tetap tenang dan mengikuti informasi resmi.",
          "Rapat lanjutan dijadwalkan berlangsung di gedung parlemen.",
          "Sejumlah pihak menilai kebijakan itu perlu dikaji ulang secara menyeluruh.",
          "Laporan lengkap akan disampaikan kepada publik setelah verifikasi selesai.",
          "Kondisi di lapangan dilaporkan berangsur normal menjelang sore hari.",
          "Anggota dewan meminta pemerintah transparan soal penggunaan dana."]
_ALERT_SENTENCES = [
    "Ketegangan antara Armenia dan Azerbaijan kembali meningkat di wilayah perbatasan.",
    "Armenia menuduh Azerbaijan melanggar kesepakatan gencatan senjata yang ditengahi Rusia.",
    "Pemerintah Armenia dan Azerbaijan sepakat melanjutkan perundingan damai di Jenewa.",
]


def _sentence(rng: random.Random) -> str:
    return (f"{rng.choice(_WHO)} {rng.choice(_WHERE)} {rng.choice(_VERB)} {rng.choice(_WHAT)} "
            f"{rng.choice(_ACTION)} {rng.choice(_WHEN)}. {rng.choice(_EXTRA)}")


# 20,000 sentences drawn once; an item picks 6 of them, so two items practically never share
# more than one sentence (their SimHashes stay far apart) and 10,000 feeds render in seconds.
_POOL = [_sentence(random.Random(i)) for i in range(20_000)]


def is_alert_item(source: int, seq: int) -> bool:
    # A fixed stride spreads the planted items evenly over sources and sequence numbers.
    return (source * 37 + seq * 11) % ALERT_ONE_IN == 0


def item_text(source: int, seq: int) -> tuple[str, list[str]]:
    """The title and sentences of item `seq` of `source`: unique, so near-duplicate
    detection never merges two, and the planted alert items mention the topic."""
    # A multiplicative hash instead of random.Random(seed): seeding a Mersenne Twister per
    # item would make pre-rendering 500,000 items take half a minute.
    state = (source * 1_000_003 + seq) * 0x9E3779B97F4A7C15 % (1 << 64)
    picks = []
    for _ in range(8):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        picks.append(state >> 33)
    title = (f"{_WHO[picks[0] % len(_WHO)]} {_WHERE[picks[0] % len(_WHERE)]} soal "
             f"{_WHAT[picks[1] % len(_WHAT)]} {_ACTION[picks[1] % len(_ACTION)]}")
    sentences = [_POOL[pick % len(_POOL)] for pick in picks[2:]]
    if is_alert_item(source, seq):
        title = f"Armenia dan Azerbaijan: {title}"
        sentences.insert(1, _ALERT_SENTENCES[seq % len(_ALERT_SENTENCES)])
    return title, sentences


def host_of(source: int, hosts: int) -> str:
    """The loopback address a source's site lives on (--full-text): 127.0.0.2 onwards."""
    index = source % hosts + 2
    return f"127.0.{index // 256}.{index % 256}"


def site(source: int, hosts: int, port: int) -> str:
    """The base URL of a source's site: a made-up domain, or a loopback host for --full-text."""
    return f"http://{host_of(source, hosts)}:{port}" if hosts else f"https://berita{source % 97}.example.id"


def render_item(source: int, seq: int, published: float, base: str) -> bytes:
    """One ~1.2 KB RSS item."""
    title, sentences = item_text(source, seq)
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
    link = f"{base}/read/s{source}/n{seq}/{slug}"
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<guid isPermaLink=\"true\">{link}</guid>"
        f"<pubDate>{formatdate(published, usegmt=True)}</pubDate>"
        f"<dc:creator>Tim Redaksi {source % 13}</dc:creator><category>Nasional</category>"
        f"<description><![CDATA[<p>{' '.join(sentences)}</p>]]></description></item>"
    ).encode()


class Feeds:
    """Every source's items, rendered once up front so answering costs almost no CPU."""

    def __init__(self, sources: int, extra_items: int, hosts: int = 0, port: int = 0) -> None:
        # Ten minutes apart, the newest published just now: a new source's first poll sees
        # a backlog of hours, as a news site's feed carries (settings.backlog_window).
        base = self.base = time.time() - 600 * ITEMS_PER_FEED
        self.head: list[bytes] = []
        self.items: list[list[bytes]] = []  # oldest first
        self.static: dict[int, bytes] = {}  # odd sources: the full body, never changes
        for source in range(sources):
            self.head.append((
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
                f"<title>Berita {source} - Nasional</title>"
                f"<link>{site(source, hosts, port)}/</link>"
                "<description>Berita terkini hari ini</description><language>id-ID</language>"
            ).encode())
            count = ITEMS_PER_FEED + (extra_items if source % 2 == 0 else 0)
            self.items.append([render_item(source, seq, base + 600 * seq, site(source, hosts, port))
                               for seq in range(count)])
            if source % 2 == 1:
                self.static[source] = self.body(source, 0)
        self.rotations = [0] * sources  # 200 answers given per source on /f/

    def body(self, source: int, lo: int) -> bytes:
        items = self.items[source]
        hi = min(lo + ITEMS_PER_FEED, len(items))
        lo = max(0, hi - ITEMS_PER_FEED)  # out of pre-rendered items: keep the last window
        return self.head[source] + b"".join(reversed(items[lo:hi])) + b"</channel></rss>"


DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
# Pages that mention the topic would raise alerts no planted item asked for.
_TOPIC_WORDS = re.compile(rb"armeni|azerbai|karabakh|yerevan|baku", re.IGNORECASE)
_JSON_LD = re.compile(rb"<script[^>]*application/ld\+json.*?</script>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(rb"<title[^>]*>.*?</title>", re.IGNORECASE | re.DOTALL)
_DATE_META = re.compile(rb"<meta[^>]+(?:published|date)[^>]*>", re.IGNORECASE)
_PARAGRAPH = re.compile(rb"<p[\s>].*?</p>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(rb"<[^>]+>")


class Pages:
    """Article pages built from real news pages: (head, before, after) pieces per template,
    so serving a page is three joins and two small formats."""

    def __init__(self, limit: int = 120) -> None:
        self.templates: list[tuple[bytes, bytes, bytes]] = []
        files = sorted(DATA.glob("indonesian-pages/html/*.html")) + sorted(DATA.glob("extraction-dev/html/*.gz"))
        for path in files:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            if len(raw) < 20_000 or _TOPIC_WORDS.search(raw):
                continue
            raw = _DATE_META.sub(b"", _JSON_LD.sub(b"", raw))
            title = _TITLE.search(raw)
            paragraphs = list(_PARAGRAPH.finditer(raw))
            if not title or not paragraphs:
                continue
            longest = max(paragraphs, key=lambda m: len(_TAG.sub(b"", m.group(0))))
            if longest.start() < title.end():
                continue
            self.templates.append((raw[:title.start()], raw[title.end():longest.start()], raw[longest.start():]))
            if len(self.templates) >= limit:
                break
        if not self.templates:  # no shared data: a synthetic page of a news site's size and shape
            clutter = b"".join(b'<li><a href="/k/%d">Berita terkait nomor %d</a></li>' % (i, i) for i in range(400))
            self.templates.append((b"<!doctype html><html><head>",
                                   b"</head><body><nav><ul>" + clutter + b"</ul></nav><main><article>",
                                   b"</article></main><footer>" + clutter + b"</footer></body></html>"))

    def render(self, source: int, seq: int, published: float) -> bytes:
        head, before, after = self.templates[(source * 31 + seq) % len(self.templates)]
        title, sentences = item_text(source, seq)
        meta = (f'<title>{title}</title><meta property="article:published_time" '
                f'content="{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(published))}">')
        body = "".join(f"<p>{sentence}</p>" for sentence in sentences)
        return head + meta.encode() + before + f"<h1>{title}</h1>{body}".encode() + after


class Server:
    def __init__(self, feeds: Feeds, latency: float, slow_every: int = 0, slow_latency: float = 0.0,
                 pages: Pages | None = None) -> None:
        self.feeds = feeds
        self.pages = pages
        self.page_log: list[tuple[int, int, float]] = []  # source, seq, start
        self.robots = 0
        self.latency = latency
        self.slow_every, self.slow_latency = slow_every, slow_latency
        self.polls: list[tuple[int, float, int, int]] = []  # source, start, status, window lo
        self.alerts: list[tuple[float, str, str]] = []  # arrival, article url, delivery id
        self.bare = 0
        self.errors = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                started = time.time()  # the poll starts when the server begins answering it
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                body = b""
                length = int(headers.get("content-length") or 0)
                if length:
                    body = await reader.readexactly(length)
                status, extra, payload = await self.answer(method, path, headers, body, started)
                out = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Other'}\r\n"]
                for name, value in extra.items():
                    out.append(f"{name}: {value}\r\n")
                out.append(f"Content-Length: {len(payload)}\r\n\r\n")
                writer.write("".join(out).encode("latin-1") + payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except Exception:  # noqa: BLE001 - a broken client must not stop the server
            self.errors += 1
        finally:
            writer.close()

    def is_slow(self, source: int) -> bool:
        # A multiplicative hash, so slow sources are as often 200 (even) as 304 (odd) ones.
        return bool(self.slow_every) and (source * 2654435761) % (1 << 32) % self.slow_every == 0

    async def answer(self, method: str, path: str, headers: dict[str, str], body: bytes,
                     started: float) -> tuple[int, dict[str, str], bytes]:
        if path.startswith(("/f/", "/b/")):
            source = int(path[3:].split(".", 1)[0])
            await asyncio.sleep(self.slow_latency if self.is_slow(source) else self.latency)
            return self.feed(source, path[1] == "f", headers, started)
        if path.startswith("/read/") and self.pages is not None:
            return await self.page(path, started)
        if path == "/robots.txt":
            self.robots += 1
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
        if method == "POST" and path.startswith("/hook"):
            arrived = time.time()
            try:
                article = json.loads(body)["article"]
                self.alerts.append((arrived, article.get("url") or "", headers.get("x-newswatch-delivery", "")))
            except (ValueError, KeyError, TypeError):
                self.alerts.append((arrived, "", headers.get("x-newswatch-delivery", "")))
            return 200, {"Content-Type": "text/plain"}, b"ok"
        if path == "/__stats":
            stats = {"polls": len(self.polls), "alerts": len(self.alerts), "bare": self.bare,
                     "errors": self.errors, "pages": len(self.page_log), "robots": self.robots}
            return 200, {"Content-Type": "application/json"}, json.dumps(stats).encode()
        if path == "/__log":
            data = {"polls": self.polls, "alerts": self.alerts, "pages": self.page_log}
            return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()
        return 404, {"Content-Type": "text/plain"}, b"not found"

    async def page(self, path: str, started: float) -> tuple[int, dict[str, str], bytes]:
        match = ARTICLE_URL.match(path)
        assert self.pages is not None
        if not match:
            return 404, {"Content-Type": "text/plain"}, b"no such page"
        source, seq = int(match.group(1)), int(match.group(2))
        await asyncio.sleep(self.latency)
        if not path.endswith("?bare"):
            self.page_log.append((source, seq, started))
        html = self.pages.render(source, seq, self.feeds.base + 600 * seq)
        return 200, {"Content-Type": "text/html; charset=utf-8"}, html

    def feed(self, source: int, logged: bool, headers: dict[str, str],
             started: float) -> tuple[int, dict[str, str], bytes]:
        feeds = self.feeds
        if not 0 <= source < len(feeds.items):
            return 404, {"Content-Type": "text/plain"}, b"no such source"
        rss = {"Content-Type": "application/rss+xml; charset=UTF-8"}
        if not logged:
            self.bare += 1
        if source % 2 == 1:
            etag = f'"src-{source}-v1"'
            validators = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
            if headers.get("if-none-match") == etag or headers.get("if-modified-since") == LAST_MODIFIED:
                if logged:
                    self.polls.append((source, started, 304, 0))
                return 304, validators, b""
            if logged:
                self.polls.append((source, started, 200, 0))
            return 200, rss | validators, feeds.static[source]
        lo = 0
        if logged:
            lo = feeds.rotations[source] * NEW_PER_POLL
            feeds.rotations[source] += 1
            self.polls.append((source, started, 200, lo))
        return 200, rss, feeds.body(source, lo)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sources", type=int, required=True)
    parser.add_argument("--extra-items", type=int, default=20, help="items pre-rendered beyond 50 per 200 source")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--slow-every", type=int, default=0, help="about 1 source in N answers slowly")
    parser.add_argument("--slow-latency", type=float, default=5.0, help="seconds a slow source takes")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hosts", type=int, default=0,
                        help="full text: sites on this many loopback addresses, serving article pages")
    args = parser.parse_args()
    listener = await asyncio.start_server(lambda r, w: server.handle(r, w), "127.0.0.1", args.port,
                                          backlog=4096, limit=1 << 20)
    port = listener.sockets[0].getsockname()[1]
    # Every site's address on the same port, so a source's URL follows from its number.
    listeners = [listener] + [
        await asyncio.start_server(lambda r, w: server.handle(r, w), host_of(index, args.hosts), port,
                                   backlog=1024, limit=1 << 20)
        for index in range(args.hosts)]
    server = Server(Feeds(args.sources, args.extra_items, args.hosts, port), args.latency, args.slow_every,
                    args.slow_latency, Pages() if args.hosts else None)
    print(f"ready {port}", flush=True)  # the orchestrator waits for this line
    await asyncio.gather(*(each.serve_forever() for each in listeners))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
