"""Main-text heuristics, one small page each (tests/fixtures/parser/)."""

from __future__ import annotations

from pathlib import Path

from worker.parser import parse_html
from worker.parser.blocks import linearise
from worker.parser.boilerplate import is_boilerplate_line
from worker.parser.document import parse_tree

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "parser"


def parse_fixture(name: str, url: str = "https://news.example.org/2020/11/21/story"):
    return parse_html((FIXTURES / name).read_bytes(), url)


def test_teaser_grid_beside_the_story_is_not_body():
    article = parse_fixture("teasers.html")
    assert article.text.startswith("The city council approved on Tuesday")
    assert article.text.endswith("by seven to two.")
    assert "School board" not in article.text
    assert "Library extends" not in article.text
    assert article.text.count("\n\n") == 2


def test_br_separated_paragraphs_and_inline_related_link():
    article = parse_fixture("br_paragraphs.html")
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("Bekasi - Banjir merendam ratusan rumah")
    assert "Baca juga" not in article.text
    assert "Hujan Deras Diprediksi" not in article.text
    assert any(p.startswith("Petugas gabungan") for p in paragraphs)
    assert "Tentang kami" not in article.text


def test_comments_share_bar_and_read_more_are_dropped():
    article = parse_fixture("comments.html")
    assert "Great article" not in article.text
    assert "Share on Facebook" not in article.text
    assert "Read more" not in article.text
    assert article.text.split("\n\n") == [
        "Tides are the rise and fall of sea levels caused by the combined effects of the "
        "gravitational forces exerted by the Moon and the Sun.",
        "Some shorelines experience a semi-diurnal tide, two nearly equal high and low tides "
        "each day, while others see only one of each.",
        "The shape of the coastline and the depth of the water change the timing and the "
        "height of the tide in each place.",
    ]


def test_table_rows_read_as_lines():
    article = parse_fixture("table.html")
    assert "1 Ana Souza 212" in article.text.split("\n\n")
    assert article.text.endswith("for the first time since 2015.")


def test_json_ld_article_body_is_the_fallback_for_script_rendered_pages():
    body = "First paragraph of a page that renders with JavaScript only, long enough to count."
    html = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        f'"headline": "Rendered", "articleBody": "{body}\\n\\nBaca juga: Other story\\n\\n'
        'Second paragraph, also from the structured data of the page."}</script></head>'
        '<body><div id="app"></div></body></html>'
    )
    article = parse_html(html, "https://example.org/a")
    assert article.text == body + "\n\nSecond paragraph, also from the structured data of the page."


def test_itemprop_article_body_wins_over_longer_comments():
    paragraphs = "".join(f"<p>Line {i} of the listing: 10 de março</p>" for i in range(5))
    comment = "<p>" + "A long reader comment that rambles on about many things. " * 10 + "</p>"
    html = (
        f'<html><body><div itemprop="articleBody"><p>Calendar of the season, as announced by '
        f"the organisers this week.</p>{paragraphs}"
        "<p>Dates may still change, the organisers warned.</p></div>"
        f'<div class="respond">{comment * 3}</div></body></html>'
    )
    article = parse_html(html, "https://example.org/calendar")
    assert "Line 4 of the listing" in article.text
    assert "reader comment" not in article.text


def test_blocks_carry_link_share_and_owner():
    root = parse_tree('<html><body><p>Text <a href="/x">linked words</a> more</p></body></html>')
    (block,) = linearise(root.find("body"))
    assert block.text == "Text linked words more"
    assert block.link_chars == len("linked words")
    assert block.owner.tag == "p"


def test_boilerplate_lines_in_several_languages():
    for line in [
        "Baca juga: Armenia Ganti Menteri Pertahanan",
        "Lihat juga: Video Banjir",
        "Read more: How waves form",
        "Read also: the previous story",
        "ADVERTISEMENT",
        "Baca berita tanpa iklan. Gabung Kompas.com+",
        "Simak breaking news dan berita pilihan kami langsung di ponselmu.",
        "Video rekomendasi",
        "Komentar",
        "Bagikan artikel ini melalui",
        "Login untuk memaksimalkan pengalaman mengakses Kompas.com",
        "Lesen Sie auch: Der Bericht",
        "Follow her on Twitter @someone.",
        "Natalie Naccache | Bloomberg | Getty Images",
        "Alat terapi temuan mahasiswa UGM. (Bagus Kurniawan/detikcom)",
        "Reporting by Ann Lee; additional reporting by Bo Chan; Editing by Cy Dee",
        "Copyright @ 2019 The Daily Example.",
        "Copyright © 2024 Example Media. All rights reserved.",
        "The harbour at dawn, seen from the ferry. | © Example Photo Agency",
        "The new ferry in the harbour. © Ferry Company",
        "Some links are from advertisers. We may receive compensation when you click on them.",
        "We pick products through an independent review process; advertisers do not influence us.",
    ]:
        assert is_boilerplate_line(line), line
    for line in [
        "YEREVAN, KOMPAS.com - Perdana Menteri Armenia Nikol Pashinyan menyerukan kooperasi.",
        "Related to this, the minister said the talks would continue.",
        "Copyright law changed in 2019, and the reporting by the press was mixed.",
        "The brand © sign was first used on ferries in 1952, the museum says.",
        "Pada tahap pertama tahun ini, pemerintah membangun 331 ribu unit rumah. (Mvi/Ali)",
    ]:
        assert not is_boilerplate_line(line), line


def test_bare_paragraph_fragments_take_the_short_path_to_the_same_paragraphs():
    from worker.parser.body import _tree_paragraphs, fragment_paragraphs

    fragments = [
        "<p>Armenia dan Azerbaijan kembali berunding di Jenewa.</p>",
        "Teks lepas sebelum <p>paragraf pertama</p> di antara <p>kedua\n baris</p> sesudah",
        "<p>Satu.</p><p></p><p>   </p><p>Dua\u00a0kata\u200b lagi.</p>",
        "<p>Baca juga: Harga beras naik lagi</p><p>Isi berita yang sebenarnya di sini.</p>",
        "<p>kontrol\x00\x07 karakter \x1f dibuang</p>",
        "x > y tetapi tanpa tag",
        "<p>tanpa penutup",
        "</p>penutup tanpa pembuka<p>",
    ]
    for fragment in fragments:
        assert fragment_paragraphs(fragment) == _tree_paragraphs(fragment), fragment
    # anything else goes through the tree: entities, attributes, other tags, stray "<"
    assert fragment_paragraphs("<p>A &amp; B</p>") == ["A & B"]
    assert fragment_paragraphs('<p class="x">Satu <b>dua</b></p>') == ["Satu dua"]
    assert fragment_paragraphs("<p>a<b</p>") == _tree_paragraphs("<p>a<b</p>")


def test_a_label_closing_the_body_is_dropped_but_not_inside_it():
    from worker.parser.body import _trim_fragments

    story = ["The ferry timetable was approved on Monday after months of talks with islanders.",
             "The new schedule reads:", "Boats leave every twenty minutes at peak hours, hourly late."]
    assert _trim_fragments([*story, "You may also like this topic:"]) == story
    assert _trim_fragments([*story, "Contact:"]) == story


def test_app_channel_and_paywall_prompts_are_furniture():
    for line in (
        "For the latest stories and breaking news updates download the Nationnews apps for iOS and Android.",
        "¿Ya sabías que en Guatemala.com tenemos canal de Telegram? Únete desde tu celular.",
        "Folgen Sie uns auf unserem Telegram-Kanal für die neuesten Nachrichten.",
        "To view the full story, please subscribe to The Island Times.",
        "If you’re seeing this message but you’re already a subscriber, you can log in for access.",
        "We’d like to hear what you think about this or any of our articles. Here are some tips.",
    ):
        assert is_boilerplate_line(line), line
    for line in (
        "The council said islanders could download the ferry timetable from its website.",
        "Fishermen said they would subscribe to the new insurance scheme if the harbour stayed open.",
        "“We would like to hear the council explain the delay,” the fishermen’s union said.",
    ):
        assert not is_boilerplate_line(line), line
