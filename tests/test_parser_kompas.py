"""End to end on a Kompas-shaped page built around the seed article and its clutter."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.dedup import article_id
from worker.parser import parse_html

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGE = FIXTURES / "kompas_article.html"
EXPECTED_TEXT = (FIXTURES / "parser" / "kompas_article_text.txt").read_text(encoding="utf-8").strip()
URL = (
    "https://www.kompas.com/global/read/2020/11/21/200000170/"
    "pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat"
)


@pytest.fixture(scope="module")
def article():
    return parse_html(PAGE.read_bytes(), URL + "?page=all", content_type="text/html")


def test_text_is_exactly_the_article_paragraphs(article):
    assert article.text == EXPECTED_TEXT
    assert article.text.startswith("YEREVAN, KOMPAS.com - Perdana Menteri Armenia Nikol Pashinyan")
    assert article.text.endswith("dengan gedung parlemen juga bisa diterobos.")
    assert len(article.text.split("\n\n")) == 15


@pytest.mark.parametrize(
    "clutter",
    ["Baca juga", "Baca berita tanpa iklan", "Gabung Kompas.com+", "WhatsApp", "Simak breaking",
     "Video rekomendasi", "Video lainnya", "Komentar", "Bagikan artikel", "Login untuk",
     "Close Ads", "ADVERTISEMENT", "Oke", "Penulis", "Sumber AFP", "Terpopuler", "semoga"],
)
def test_no_clutter_reaches_the_text(article, clutter):
    assert clutter.lower() not in article.text.lower()


def test_metadata(article):
    assert article.title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert article.authors == ("Ardi Priyatno Utomo",)
    assert article.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert article.to_dict()["published"] == "2020-11-21T13:00:00Z"
    assert article.canonical_url == (
        "https://www.kompas.com/global/read/2020/11/21/200000170/"
        "pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat"
    )
    assert article.id == article_id(article.canonical_url)
    assert article.url == URL + "?page=all"
    assert article.source.name == "Kompas.com"
    assert article.source.domain == "kompas.com"
    assert article.source.id == ""
    assert article.language == "id"
    assert article.summary.startswith("Perdana Menteri Armenia Nikol Pashinyan menyerukan")
    assert article.section == "Global"
    assert "Armenia" in article.tags
    assert article.image == "https://asset.kompas.com/crops/armenia-pashinyan.jpg"


def test_visible_markup_alone_gives_the_same_article():
    """Without JSON-LD and meta tags: byline "Penulis", dateline in WIB, <title> suffix."""
    html = PAGE.read_text(encoding="utf-8")
    html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    html = re.sub(r'<meta (?:property|name)="(?:og|article|content)[^"]*"[^>]*>', "", html)
    html = re.sub(r'<link rel="canonical"[^>]*>', "", html)
    article = parse_html(html, URL)
    assert article.title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert article.authors == ("Ardi Priyatno Utomo",)
    assert article.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert article.text == EXPECTED_TEXT
    assert article.source.name == "Kompas.com"


def test_same_article_from_the_global_subdomain():
    article = parse_html(PAGE.read_bytes(), URL.replace("www.kompas.com/global", "global.kompas.com"))
    assert article.source.domain == "kompas.com"
    # rel=canonical is on the same site, so both addresses name one article.
    assert article.canonical_url.startswith("https://www.kompas.com/global/read/2020/11/21/")
    assert article.id == parse_html(PAGE.read_bytes(), URL).id
