from __future__ import annotations

from worker.parser import parse_html
from worker.parser.encoding import decode_html

TEXT = "Perdana Menteri — “kooperasi” café déjà vu"


def page(charset_meta: str = "") -> str:
    return f"<html><head>{charset_meta}<title>t</title></head><body><p>{TEXT}</p></body></html>"


def test_http_charset_is_used():
    data = page().encode("cp1252")
    assert TEXT in decode_html(data, "text/html; charset=windows-1252")


def test_meta_charset_is_used():
    data = page('<meta charset="iso-8859-1">').replace("—", "-").replace("“", '"').replace(
        "”", '"').encode("latin-1")
    assert "café déjà vu" in decode_html(data)


def test_utf8_bytes_declared_latin1_are_not_mojibake():
    data = page('<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">').encode()
    decoded = decode_html(data, "text/html; charset=ISO-8859-1")
    assert TEXT in decoded
    assert "Ã" not in decoded


def test_bom_wins():
    data = "\ufeff".encode("utf-16-le") + page().encode("utf-16-le")
    assert TEXT in decode_html(data, "text/html; charset=iso-8859-1")


def test_declared_utf16_over_ascii_compatible_bytes_is_not_trusted():
    data = page('<meta charset="utf-16">').encode()
    assert TEXT in decode_html(data)
    assert TEXT in decode_html(data, "text/html; charset=UTF-16")


def test_utf16_without_a_bom_is_read_when_declared():
    data = page().encode("utf-16-le")
    assert TEXT in decode_html(data, "text/html; charset=utf-16le")


def test_undeclared_legacy_page_is_detected():
    text = "Ceci est une phrase française avec des accents: été, déjà, où, très, garçon. " * 20
    data = f"<html><body><p>{text}</p></body></html>".encode("cp1252")
    assert "déjà" in decode_html(data)


def test_parse_html_uses_the_content_type_hint():
    # A short KOI8-R page: too little text for detection to be sure, so only the hint decodes it.
    russian = "Привет мир, как дела сегодня?"
    data = f"<html><head><title>t</title></head><body><p>{russian}</p></body></html>".encode("koi8-r")
    article = parse_html(data, "https://example.org/a", content_type="text/html; charset=koi8-r")
    assert article.text == russian


def test_parse_html_decodes_a_legacy_page_whole():
    data = page().encode("cp1252")
    article = parse_html(data, "https://example.org/a", content_type="text/html; charset=cp1252")
    assert article.text == TEXT
