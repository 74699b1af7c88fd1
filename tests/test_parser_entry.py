"""parse_entry: a feed entry, alone or with its fetched page, becomes one Article."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from worker.dedup import article_id
from worker.models import FeedEntry, Source
from worker.parser import parse_entry, parse_html

FIXTURES = Path(__file__).resolve().parent / "fixtures"
URL = (
    "https://www.kompas.com/global/read/2020/11/21/200000170/"
    "pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat"
)
SOURCE = Source(id="kompas-global", url="https://rss.kompas.com/global", language="id")
FEED_CONTENT = (
    "<p>YEREVAN, KOMPAS.com - Perdana Menteri Armenia Nikol Pashinyan menyerukan adanya "
    "kooperasi militer dalam tingkat yang lebih besar dengan Rusia.</p>"
    "<p><strong>Baca juga:</strong> <a href='https://www.kompas.com/x'>Armenia Ganti Menteri "
    "Pertahanan</a></p><p>Pernyataan itu disampaikannya satu hari setelah pasukan Azerbaijan "
    "sampai di sebagian wilayah Nagorno-Karabakh.</p>"
    "<div class='share'><a href='#'>Bagikan</a></div>"
)


def entry(**overrides) -> FeedEntry:
    values = dict(
        url=URL + "?utm_source=rss",
        title="PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat",
        summary="<p>Perdana Menteri Armenia <b>Nikol Pashinyan</b> menyerukan kooperasi.</p>",
        authors=("Kompas Feed Desk",),
        published=datetime(2020, 11, 21, 13, 0, tzinfo=UTC),
        tags=("Armenia",),
    )
    values.update(overrides)
    return FeedEntry(**values)


def test_entry_alone():
    article = parse_entry(entry(content=FEED_CONTENT), SOURCE)
    assert article.canonical_url == URL  # the address as published, tracking removed
    assert article.id == article_id(article.canonical_url)
    assert article.title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert article.summary == "Perdana Menteri Armenia Nikol Pashinyan menyerukan kooperasi."
    assert article.text.split("\n\n") == [
        "YEREVAN, KOMPAS.com - Perdana Menteri Armenia Nikol Pashinyan menyerukan adanya "
        "kooperasi militer dalam tingkat yang lebih besar dengan Rusia.",
        "Pernyataan itu disampaikannya satu hari setelah pasukan Azerbaijan sampai di sebagian "
        "wilayah Nagorno-Karabakh.",
    ]
    assert article.source.id == "kompas-global"
    assert article.source.name == "Kompas.com"
    assert article.source.domain == "kompas.com"
    assert article.language == "id"
    assert article.authors == ("Kompas Feed Desk",)
    assert article.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)


def test_page_wins_for_text_authors_and_canonical():
    page = parse_html((FIXTURES / "kompas_article.html").read_bytes(), URL + "?page=all")
    article = parse_entry(entry(content=FEED_CONTENT), SOURCE, page)
    assert article.text == page.text  # the longer clean text
    assert article.authors == ("Ardi Priyatno Utomo",)
    assert article.canonical_url == page.canonical_url
    assert article.id == page.id
    assert article.image == page.image
    assert "Armenia" in article.tags


def test_feed_fills_what_the_page_lacks():
    page = parse_html("<html><body><p>Short.</p></body></html>", URL)
    article = parse_entry(entry(content=FEED_CONTENT, image="https://img.example/x.jpg"),
                          SOURCE, page)
    assert article.text.startswith("YEREVAN, KOMPAS.com")
    assert article.authors == ("Kompas Feed Desk",)
    assert article.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert article.image == "https://img.example/x.jpg"


def test_source_name_from_config_wins():
    named = Source(id="k", url="https://rss.kompas.com", name="Kompas Global")
    assert parse_entry(entry(), named).source.name == "Kompas Global"


def test_entry_language_then_source_language():
    assert parse_entry(entry(language="en"), SOURCE).language == "en"
    assert parse_entry(entry(), SOURCE).language == "id"
