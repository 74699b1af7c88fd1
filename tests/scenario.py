"""Building blocks of the end-to-end scenarios: a Kompas-shaped site, configs, checks."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import yaml
from servers import HTTPServer, Request, SMTPServer

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
ARTICLE_PATH = "/global/read/2020/11/21/200000170/pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat"
OFFTOPIC_PATH = "/money/read/2020/11/21/180500126/harga-cabai-rawit-di-jakarta-naik-jelang-akhir-tahun"
SECRET = "s3cret-signing-key"
CLEAN_TEXT_START = "YEREVAN, KOMPAS.com - Perdana Menteri Armenia Nikol Pashinyan"
CLEAN_TEXT_END = "gedung parlemen juga bisa diterobos."


def html(body: bytes) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "text/html; charset=utf-8"}, body


def shipped_topics_file() -> dict:
    return yaml.safe_load((ROOT / "config" / "topics.yaml").read_text())


def shipped_topic() -> dict:
    topic = next(t for t in shipped_topics_file()["topics"] if t["id"] == "armenia-azerbaijan")
    return {**topic, "channels": ["desk-email", "ops-webhook"]}


def write_config(folder: Path, sources: list[dict], smtp: SMTPServer, receiver: HTTPServer,
                 redis_url: str = "", smtp_url: str = "", retry: dict | None = None,
                 email: dict | None = None, **settings) -> Path:
    """A config folder for a scenario: the shipped topic, one email and one webhook channel."""
    folder.mkdir(parents=True, exist_ok=True)
    retry = retry or {"backoff": "1s", "max_backoff": "2s", "max_age": "1h"}
    config = {
        "sources": sources,
        "terms": shipped_topics_file()["terms"],  # the named lists its query uses
        "topics": [shipped_topic()],
        "channels": [
            {"id": "desk-email", "type": "email", "to": ["desk@example.org"],
             "from": "newswatch@example.org", "smtp_url": smtp_url or smtp.url, "retry": retry, **(email or {})},
            {"id": "ops-webhook", "type": "webhook", "url": receiver.url("/hook"),
             "secret": "${TEST_WEBHOOK_SECRET}", "format": "json", "retry": retry},
        ],
        "settings": {
            "redis_url": redis_url,
            "state_path": str(folder / "state.db"),
            "allow_private_networks": True,
            "fetch_timeout": "2s",
            # The fixture article is from 2020: on a first poll it would be backlog too old
            # for a page fetch (settings.backlog_window), and these scenarios test the page.
            "backlog_window": "36500d",
            **settings,
        },
    }
    (folder / "newswatch.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return folder


def kompas_source(site: HTTPServer, **extra) -> dict:
    return {"id": "kompas-global", "url": site.url("/rss/global"), "kind": "feed",
            "every": "5m", "full_text": True, "language": "id", "name": "Kompas.com", **extra}


def hook_posts(receiver: HTTPServer) -> list[Request]:
    return [r for r in receiver.requests if r.path == "/hook" and r.method == "POST"]


def verify_signature(request: Request) -> None:
    headers = {k.lower(): v for k, v in request.headers.items()}
    timestamp = headers["x-newswatch-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body,
                        hashlib.sha256).hexdigest()
    assert headers["x-newswatch-signature"] == f"sha256={expected}"
    assert abs(time.time() - int(timestamp)) < 300


AFP_TEXT = (
    "Perdana Menteri Armenia Nikol Pashinyan menyerukan kerja sama militer yang lebih erat "
    "dengan Rusia, sehari setelah pasukan Azerbaijan memasuki sebagian wilayah Nagorno-Karabakh "
    "yang ditinggalkan separatis. Pashinyan menyampaikannya dalam pertemuan dengan Menteri "
    "Pertahanan Rusia Sergei Shoigu di Yerevan, menurut laporan kantor berita AFP pada Sabtu. "
    "Kedua negara menyepakati gencatan senjata yang ditengahi Kremlin, mengakhiri enam pekan "
    "perang di Karabakh. Berdasarkan kesepakatan itu, Baku akan mengambil alih tiga distrik "
    "yang sebelumnya diduduki pemberontak sejak awal 1990-an, dan sekitar 2.000 prajurit "
    "penjaga perdamaian Rusia dikerahkan ke kawasan tersebut."
)


def wire_feed(base: str, slug: str, title: str, text: str, link: str = "") -> bytes:
    """A one-item RSS feed carrying the full text in content:encoded."""
    link = link or f"{base}/{slug}/read/afp-armenia"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>{slug}</title><link>{base}/</link><description>d</description>
<item><title>{title}</title><link>{link}</link>
<guid>{slug}-afp</guid><pubDate>Sat, 21 Nov 2020 20:00:00 +0700</pubDate>
<description>AFP</description>
<content:encoded><![CDATA[<p>{text}</p>]]></content:encoded></item>
</channel></rss>""".encode()
