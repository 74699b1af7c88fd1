"""Titles without the site name, when only <title> (and the page's headings) are there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from worker.parser import parse_html
from worker.parser.metadata import clean_title

KOMPAS = Path(__file__).resolve().parent / "fixtures" / "kompas_article.html"
HEADLINE = "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
BODY = "<p>" + "A sentence of the article body that is long enough to count as prose. " * 4 + "</p>"


def page(title: str, headings: str = "") -> str:
    return f"<html><head><title>{title}</title></head><body>{headings}<article>{BODY}</article></body></html>"


def test_kompas_page_without_json_ld_or_og_title_anywhere():
    """The issue's case: no JSON-LD, no meta tags, parsed from a file (no domain to go by)."""
    html = KOMPAS.read_text(encoding="utf-8")
    html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    html = re.sub(r"<meta [^>]*>", "", html)
    assert "Halaman all - Kompas.com</title>" in html
    for url in ("file:///tmp/kompas.html", "https://www.kompas.com/global/read/2020/11/21/x", ""):
        assert parse_html(html, url).title == HEADLINE


@pytest.mark.parametrize(
    ("title", "site_name", "domain", "host", "expected"),
    [
        ("Suspect caught in rampage | BBC News", "", "bbc.co.uk", "www.bbc.co.uk", "Suspect caught in rampage"),
        ("BBC News - Suspect caught in rampage", "", "bbc.co.uk", "www.bbc.co.uk", "Suspect caught in rampage"),
        (f"{HEADLINE} Halaman all - Kompas.com", "", "", "", HEADLINE),  # looks like a domain
        ("Ahok Dukung Jokowi :: Okezone News", "", "okezone.com", "news.okezone.com", "Ahok Dukung Jokowi"),
        ("Land zahlte 1,4 Millionen Euro | MLUK", "", "brandenburg.de", "mluk.brandenburg.de",
         "Land zahlte 1,4 Millionen Euro"),
        ("Reparaturcafé am 31. Januar: Stadt Ahlen", "Stadt Ahlen", "ahlen.de", "www.ahlen.de",
         "Reparaturcafé am 31. Januar"),
        ("Harga cabai naik - Jakarta Globe | jakartaglobe.id", "", "", "", "Harga cabai naik"),
        ("Left - right: a headline", "", "example.org", "example.org", "Left - right: a headline"),
        ("Fact Check: Is it true?", "", "example.org", "example.org", "Fact Check: Is it true?"),
    ],
)
def test_site_name_is_cut_from_either_end(title, site_name, domain, host, expected):
    assert clean_title(title, site_name, domain, host=host) == expected


@pytest.mark.parametrize("title, headings, url, expected", [
    pytest.param("Opinion | Republicans Are Following Trump - The New York Times",
                 "<h1>Republicans Are Following Trump</h1>",
                 "https://www.nytimes.com/2019/11/19/opinion/x.html",
                 "Republicans Are Following Trump", id="the-h1-settles-which-piece-is-the-headline"),
    # A blog: the site name in <h1> on every page, the post title in <h2>.
    pytest.param("Das wird man ja wohl noch sagen dürfen | Gormulus",
                 "<h1>Gormulus</h1><h2>Das wird man ja wohl noch sagen dürfen</h2>",
                 "https://gormulus.wordpress.com/2012/12/11/das-wird-man/",
                 "Das wird man ja wohl noch sagen dürfen", id="an-h1-that-is-the-site-name-is-no-headline"),
    pytest.param("Gormulus", "<h1>Gormulus</h1><h2>Ins neue Jahr mit guten Vorsätzen</h2>",
                 "https://gormulus.wordpress.com/2016/01/01/x/",
                 "Ins neue Jahr mit guten Vorsätzen", id="a-title-that-is-only-the-site-name-gives-way"),
    pytest.param("EU-Taxonomie: Atomkraft ist nicht nachhaltig | Umweltbundesamt",
                 "<h1>EU-Taxonomie: Atomkraft ist nicht nachhaltig | Umweltbundesamt</h1>",
                 "https://www.umweltbundesamt.de/themen/x",
                 "EU-Taxonomie: Atomkraft ist nicht nachhaltig",
                 id="an-h1-repeating-the-whole-title-does-not-keep-the-suffix"),
    pytest.param("Google buys YouTube for $1.65bn | Example Daily", "<h1>Google buys YouTube for $1.65bn</h1>",
                 "https://exampledaily.com/a", "Google buys YouTube for $1.65bn",
                 id="a-headline-naming-another-site-is-left-alone"),
])
def test_the_headings_settle_what_of_the_title_is_the_headline(title, headings, url, expected):
    assert parse_html(page(title, headings), url).title == expected
