"""Text captures (SPEC "The shared parser"): plain text in, the same Article out.

The seed is the project's own document (a Kompas.com article copied as text with the
site's clutter); the other captures are small hand-made ones in the shapes text
browsers and copy-paste give: menus, a byline, inline related-link boxes, comments,
teaser lists, hard-wrapped lines.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.dedup import article_id
from worker.models import FeedEntry, Source
from worker.parser import ParseError, capture, capture_model, parse_entry, parse_html, parse_text
from worker.parser.capture import looks_like_html, looks_like_markup

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parser"
SEED = (FIXTURES / "seed-kompas-article.txt").read_text(encoding="utf-8")
SEED_BODY = (FIXTURES / "kompas_article_text.txt").read_text(encoding="utf-8").strip()
ENGLISH = (FIXTURES / "captures" / "english-news.txt").read_text(encoding="utf-8")
DETIK = (FIXTURES / "captures" / "detik-news.txt").read_text(encoding="utf-8")
DETIK_URL = "http://news.detik.com/berita/2943960/mahasiswa-ugm-kembangkan-robot-terapi-pascastroke"


@pytest.fixture(scope="module")
def seed():
    return parse_text(SEED)


# ------------------------------------------------------------------ the seed, field by field


def test_seed_title(seed):
    assert seed.title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"


def test_seed_published_from_the_wib_dateline(seed):
    assert seed.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert seed.to_dict()["published"] == "2020-11-21T13:00:00Z"


def test_seed_author_beside_the_penulis_label(seed):
    assert seed.authors == ("Ardi Priyatno Utomo",)


def test_seed_body_is_exactly_the_article(seed):
    assert seed.text.startswith("YEREVAN, KOMPAS.com - Perdana Menteri Armenia Nikol Pashinyan")
    assert seed.text.endswith("dengan gedung parlemen juga bisa diterobos.")
    assert seed.text == SEED_BODY  # the same body the Kompas page gives
    assert len(seed.text.split("\n\n")) == 15


def test_seed_source_language_and_id(seed):
    assert seed.source.name == "Kompas.com"
    assert seed.source.domain == "kompas.com"
    assert seed.language == "id"
    assert seed.summary.startswith("YEREVAN, KOMPAS.com - Perdana Menteri")
    assert seed.id == parse_text(SEED).id  # stable
    assert seed.id != parse_text(ENGLISH).id


@pytest.mark.parametrize(
    "clutter",
    [
        "Baca juga",  # related-article lines inside the body
        "Baca berita tanpa iklan",  # subscription promotion
        "Gabung Kompas.com+",
        "Simak breaking news",  # app / channel promotion
        "WhatsApp",
        "Video rekomendasi",  # video widget
        "Video lainnya",
        "Close Ads",  # ads
        "Bagikan artikel ini melalui",  # share bar
        "Oke",
        "Login untuk",  # login prompt
        "Komentar",  # comments
        "Penulis",  # byline label
        "Sumber AFP",  # credit line
    ],
)
def test_seed_clutter_family_never_reaches_the_text(seed, clutter):
    assert clutter in SEED  # the seed really carries it
    assert clutter.casefold() not in seed.text.casefold()


def test_seed_as_a_feed_entry_with_plain_text_content():
    entry = FeedEntry(url="https://www.kompas.com/global/read/2020/11/21/200000170/pm-armenia",
                      title="PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat",
                      content=SEED)
    article = parse_entry(entry, Source(id="kompas-global", url="https://rss.kompas.com/global"))
    assert article.text == SEED_BODY
    assert "Baca juga" not in article.text


def test_short_plain_text_feed_content_is_kept_as_given():
    entry = FeedEntry(url="https://example.org/a", content="Short note.\n\nSecond line here.")
    article = parse_entry(entry, Source(id="s", url="https://example.org/feed"))
    assert article.text == "Short note.\n\nSecond line here."


@pytest.mark.parametrize("width", [72, 80])
def test_hard_wrapped_seed_gives_the_same_article(seed, width):
    wrapped = "\n".join("\n".join(textwrap.wrap(line, width)) if line.strip() else ""
                        for line in SEED.split("\n"))
    assert max(len(line) for line in wrapped.split("\n")) <= width
    article = parse_text(wrapped)
    assert article.text == seed.text
    assert (article.title, article.authors, article.published) == (
        seed.title, seed.authors, seed.published)


def test_windows_line_endings_and_bom(seed):
    article = parse_text(("\ufeff" + SEED).replace("\n", "\r\n").encode("utf-8"))
    assert article.text == seed.text
    assert article.title == seed.title


# ------------------------------------------------------------------ our own captures


@pytest.fixture(scope="module")
def english():
    return parse_text(ENGLISH, "https://example-times.com/world/2019/11/19/"
                               "armenia-azerbaijan-reopen-border-crossings?utm_source=rss")


def test_capture_title_is_the_headline_above_the_byline(english):
    assert english.title == "Armenia and Azerbaijan agree to reopen border crossings after talks in Brussels"


def test_capture_authors_from_a_by_line(english):
    assert english.authors == ("Jane Whitfield", "Omar Haddad")


def test_capture_published_from_an_english_dateline(english):
    assert english.published == datetime(2019, 11, 19, 9, 8, tzinfo=UTC)


def test_capture_body_keeps_subheadings_and_drops_inline_boxes(english):
    paragraphs = english.text.split("\n\n")
    assert paragraphs[0].startswith("BRUSSELS — Armenia and Azerbaijan agreed on Tuesday")
    assert "Trade routes" in paragraphs  # a subheading inside the article stays
    assert paragraphs[-1].startswith("Neither government commented on the timetable")
    for clutter in ("Read more", "Related articles", "Russia sends peacekeepers", "Advertisement"):
        assert clutter not in english.text


def test_capture_body_stops_before_comments_and_footer(english):
    for clutter in ("Comments", "waiting for this news", "We have heard these promises",
                    "Most popular", "Storm warning", "newsletter", "All rights reserved"):
        assert clutter not in english.text


def test_capture_url_address_and_source(english):
    assert english.url.endswith("?utm_source=rss")
    assert english.canonical_url == ("https://example-times.com/world/2019/11/19/"
                                     "armenia-azerbaijan-reopen-border-crossings")
    assert english.id == article_id(english.canonical_url)
    assert english.source.domain == "example-times.com"
    assert english.language == "en"


def test_capture_without_url_finds_the_same_fields(english):
    bare = parse_text(ENGLISH)
    assert (bare.title, bare.authors, bare.published, bare.text) == (
        english.title, english.authors, english.published, english.text)
    assert bare.url == bare.canonical_url == ""


@pytest.fixture(scope="module")
def detik():
    return parse_text(DETIK, DETIK_URL)


def test_detik_capture_fields(detik):
    assert detik.title == "Mahasiswa UGM Kembangkan Robot Terapi Pascastroke"
    assert detik.authors == ("Bagus Kurniawan",)  # "Bagus Kurniawan - detiknews"
    assert detik.published == datetime(2015, 6, 16, 7, 5, tzinfo=UTC)  # 14:05 WIB
    assert detik.source.domain == "detik.com"


def test_detik_capture_body_without_related_or_teasers(detik):
    paragraphs = detik.text.split("\n\n")
    assert paragraphs[0].startswith("Yogyakarta - Lima mahasiswa Universitas Gadjah Mada")
    assert paragraphs[-1] == '"Saat ini I-REBOT tengah kami ajukan untuk mendapat paten dari HKI," ujar Putri.'
    assert len(paragraphs) == 4
    for clutter in ("Baca juga", "Baca Juga", "(Foto:", "759 SHARES", "(bgs/rul)", "DETIKNEWS",
                    "Donald Trump", "Download Aplikasi", "Copyright"):
        assert clutter not in detik.text


# ------------------------------------------------------------------ the HTML page as a capture


def test_kompas_page_dumped_as_text_gives_the_page_article():
    page = parse_html((FIXTURES.parent / "kompas_article.html").read_bytes(),
                      "https://www.kompas.com/global/read/2020/11/21/200000170/"
                      "pm-armenia-minta-agar-relasi-militer-dengan-rusia-diperkuat")
    capture = (FIXTURES / "captures" / "kompas-article-dump.txt").read_text(encoding="utf-8")
    article = parse_text(capture, page.url)
    assert article.text == page.text
    assert article.title == page.title
    assert article.published == page.published
    assert article.authors == page.authors


# ------------------------------------------------------------------ edges


def test_text_without_an_article_gives_an_empty_body():
    article = parse_text("Home\nNews\nSport\nLogin\n")
    assert article.text == ""
    assert article.title == ""


@pytest.mark.parametrize("text, expected", [
    ("", ""),
    ("   \n\n", ""),
    ("x" * 500_000, ""),  # one 500,000-letter "word" is no prose
    ("a\n" * 200_000, "a " * 199_999 + "a"),  # short lines join into one paragraph
])
def test_odd_text_gives_an_article(text, expected):
    assert parse_text(text).text == expected


def test_binary_looking_text_is_refused():
    with pytest.raises(ParseError, match="binary"):
        parse_text("\x00\x01\x02" * 4000)


def test_binary_bytes_are_refused():
    with pytest.raises(ParseError):
        parse_text(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)


def test_html_and_text_are_told_apart_by_content():
    assert looks_like_html("<!DOCTYPE html><html><body><p>x</p></body></html>")
    assert looks_like_html("\ufeff  <html lang='id'>")
    assert looks_like_html("<div class='a'>text</div>")
    assert not looks_like_html(SEED)
    assert not looks_like_html("Prices rose 3% when x < y and y > z.")
    assert looks_like_markup("<p>one</p>")
    assert looks_like_markup("Tom &amp; Jerry")
    assert not looks_like_markup("Tom & Jerry, 3 < 4")


# ------------------------------------------------------------------ general rules, one capture each

PARAGRAPHS = [
    "The city council voted on Tuesday to extend the night bus service to the eastern suburbs, "
    "after two years of petitions from shift workers.",
    "The new routes start in March and will run every twenty minutes between midnight and five "
    "in the morning, the transport office said.",
    "Councillors who opposed the plan said the money would be better spent on the daytime "
    "network, which carries far more passengers.",
]
MENU = "\n".join(["Home", "News", "Sport", "Weather", "Contact"])


def test_a_line_printed_twice_is_furniture_the_second_time():
    caption = ("Night buses waiting at the central depot before the first run of the extended "
               "service to the eastern suburbs")  # prose-length, as image captions often are
    capture = "\n\n".join([caption, MENU, PARAGRAPHS[0], caption,
                           PARAGRAPHS[1], PARAGRAPHS[1], PARAGRAPHS[2], MENU])  # then a pull quote
    article = parse_text(capture)
    assert article.text == "\n\n".join(PARAGRAPHS)


def test_a_run_opening_with_headline_and_byline_starts_below_them():
    capture = "\n\n".join([
        MENU, "Night buses to run until dawn in the eastern suburbs",
        "By Jane Whitfield on Monday, November 18th, 2019 at 11:08 a.m.",
        *PARAGRAPHS, MENU])
    article = parse_text(capture)
    assert article.text == "\n\n".join(PARAGRAPHS)
    assert article.title == "Night buses to run until dawn in the eastern suburbs"
    assert article.authors == ("Jane Whitfield",)


def test_a_standfirst_above_the_dateline_stays_in_the_body():
    standfirst = ("Shift workers have asked for a night service for two years; from March they will "
                  "have one, at a cost the council puts at four million a year.")
    capture = "\n\n".join([MENU, "Night buses to run until dawn", standfirst,
                           "18 November 2019", *PARAGRAPHS, MENU])
    article = parse_text(capture)
    assert article.text.split("\n\n")[0] == standfirst


def test_comments_divided_by_their_dates_do_not_outweigh_the_article():
    comments = []
    for n, name in enumerate(["Robs", "Anonim", "Kris", "Marta", "Olek"]):
        comments += [name, f"wtorek, 1{n} maja 2021, 22:3{n}",
                     f"Comment number {n}: " + "the council never listens to anyone in the east, and "
                     "this decision will not change that, whatever they promise before the vote. " * 2]
    capture = "\n\n".join([MENU, *PARAGRAPHS, "Komentarze", *comments, MENU])
    article = parse_text(capture)
    assert article.text == "\n\n".join(PARAGRAPHS)


def test_embedded_posts_with_dates_do_not_make_an_article_a_list():
    posts = [f"— Mayor (@mayor) March 1{n}, 2020" for n in range(3)]
    more = [text.replace("the", "that") for text in PARAGRAPHS]  # more paragraphs of prose
    body = [PARAGRAPHS[0], posts[0], PARAGRAPHS[1], more[0], posts[1], PARAGRAPHS[2], more[1],
            posts[2], more[2]]
    article = parse_text("\n\n".join([MENU, *body, MENU]))
    assert article.text == "\n\n".join(body)  # the quoted posts stay, as captions do


def test_a_cookie_notice_longer_than_the_article_is_not_the_body():
    notice = ("This website uses cookies and similar technologies. With your consent we and our "
              "third-party partners store and read information on your device for tracking. ")
    datenschutz = ("Datenschutz: Mit Ihrer Einwilligung verarbeiten wir personenbezogene Daten, "
                   "auch bei Drittanbietern in den USA, für Analyse und Werbung. ")
    capture = "\n\n".join([MENU, *PARAGRAPHS, MENU, notice * 3, datenschutz * 3, notice * 2, "Accept"])
    assert parse_text(capture).text == "\n\n".join(PARAGRAPHS)


def test_encoded_data_is_not_prose():
    blob = "PGRpdiBjbGFzcz0ic3AtZHNndm8gc3AtZHNndm8tZW1iZWRkaW5n" * 40
    capture = "\n\n".join([MENU, *PARAGRAPHS, MENU, blob, MENU])
    assert parse_text(capture).text == "\n\n".join(PARAGRAPHS)


def test_a_dated_comment_inside_the_run_does_not_replace_the_article():
    # A header streak (name, date, labels) inside the run, with less prose below it than
    # above: the next item (a reader's comment), not the article's own header.
    comment = ["Anna Berg", "12.12.2019", "Antworten", "Posted at 10:15",
               "I agree with the council, the night service is overdue and the eastern suburbs "
               "deserve it as much as anyone else does, and I say so as a driver.",
               "My shift ends at two in the morning and until now I had to walk home for an hour, "
               "in the rain more often than not."]
    capture = "\n\n".join([MENU, *PARAGRAPHS, *comment, MENU])
    article = parse_text(capture)
    assert article.text.startswith(PARAGRAPHS[0])


# ------------------------------------------------------------------ the learned line model


def test_model_weights_name_only_features_the_reader_computes():
    # A feature renamed or removed without retraining would silently weigh nothing.
    assert set(capture_model.WEIGHTS) <= set(capture.FEATURE_NAMES)
    assert set(capture_model.CONTEXT_WEIGHTS) <= set(capture.CONTEXT_FEATURES)
    assert len(capture_model.WEIGHTS) > len(capture.FEATURE_NAMES) // 2


def test_every_line_gets_one_row_of_every_feature():
    lines = capture.prepared_lines("\n\n".join([MENU, *PARAGRAPHS, MENU]))
    rows = capture.line_features(lines, "https://example.org/2019/night-buses-eastern-suburbs")
    assert len(rows) == len(lines) and {len(row) for row in rows} == {len(capture.FEATURE_NAMES)}
    odds = capture.line_log_odds(lines)
    prose = [value for line, value in zip(lines, odds, strict=True) if line.text in PARAGRAPHS]
    labels = [value for line, value in zip(lines, odds, strict=True) if line.text not in PARAGRAPHS]
    assert min(prose) > 0 > max(labels)  # the model tells paragraphs from menu items


def test_a_box_of_links_inside_the_article_does_not_split_it():
    box = "Related articles\nNight buses: what changes in March\nThe depot that never sleeps"
    article = parse_text("\n\n".join([MENU, PARAGRAPHS[0], PARAGRAPHS[1], box, PARAGRAPHS[2], MENU]))
    assert article.text == "\n\n".join(PARAGRAPHS)


def test_a_huge_menu_and_long_lines_stay_bounded():
    # Every line is described once: linear in the capture, whatever its shape.
    menu = "\n".join(f"Section {n}" for n in range(20_000))
    article = parse_text("\n\n".join([menu, *PARAGRAPHS, "word " * 50_000, menu]))
    assert PARAGRAPHS[0] in article.text and "Section 100\n" not in article.text
