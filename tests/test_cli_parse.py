"""`newswatch parse FILE`: HTML or text told apart by content, never a silent failure."""

from __future__ import annotations

import json

from helpers import TESTS, run_newswatch, subprocess_env

SEED = TESTS / "fixtures" / "parser" / "seed-kompas-article.txt"
KOMPAS_HTML = TESTS / "fixtures" / "kompas_article.html"
TITLE = "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"


def test_parse_the_seed_text_capture(tmp_path):
    result = run_newswatch(["parse", str(SEED)], subprocess_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["title"] == TITLE
    assert article["published"] == "2020-11-21T13:00:00Z"
    assert article["authors"] == ["Ardi Priyatno Utomo"]
    assert article["text"].startswith("YEREVAN, KOMPAS.com - Perdana Menteri")
    assert article["text"].endswith("gedung parlemen juga bisa diterobos.")
    assert "Baca juga" not in article["text"] and "WhatsApp" not in article["text"]
    assert result.stderr == ""


def test_the_name_of_the_file_does_not_decide(tmp_path):
    # A saved page called .txt is still HTML; a capture called .html is still text.
    page_as_txt = tmp_path / "page.txt"
    page_as_txt.write_bytes(KOMPAS_HTML.read_bytes())
    capture_as_html = tmp_path / "capture.html"
    capture_as_html.write_bytes(SEED.read_bytes())
    for path in (page_as_txt, capture_as_html):
        result = run_newswatch(["parse", str(path)], subprocess_env(), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        article = json.loads(result.stdout)
        assert article["title"] == TITLE
        assert "Baca juga" not in article["text"] and article["text"].startswith("YEREVAN")


def test_no_body_prints_the_json_says_so_and_exits_1(tmp_path):
    menu = tmp_path / "menu.txt"
    menu.write_text("Home\nNews\nSport\nLogin\n", encoding="utf-8")
    empty_page = tmp_path / "empty.html"
    empty_page.write_text("<html><head><title>Only a title | example.org</title></head>"
                          "<body><nav><a href='/'>Home</a></nav></body></html>", encoding="utf-8")
    for path in (menu, empty_page):
        result = run_newswatch(["parse", str(path)], subprocess_env(), cwd=tmp_path)
        assert result.returncode == 1, (result.stdout, result.stderr)
        article = json.loads(result.stdout)  # still the whole JSON on stdout
        assert article["text"] == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "no article body" in lines[0] and path.name in lines[0]
    assert json.loads(run_newswatch(["parse", str(empty_page)], subprocess_env(),
                                    cwd=tmp_path).stdout)["title"] == "Only a title"
