"""Turning input into an lxml tree, with the limits that keep parsing bounded.

lxml is used directly (not BeautifulSoup) because the parser runs on every
fetched page and BeautifulSoup costs ~10x more. Limits: input is capped before
parsing, huge_tree stays off (libxml2 then refuses pathological depth and node
sizes instead of exhausting memory), and no code below walks the tree recursively.
"""

from __future__ import annotations

import re

from lxml import etree

from .encoding import decode_html
from .errors import ParseError

# News pages are well under 2 MB; what lies beyond 3 MB is inline data, not prose.
MAX_INPUT_CHARS = 3_000_000
_BINARY_MAGIC = (
    b"\x1f\x8b", b"PK\x03\x04", b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"BZh",
    b"\xfd7zXZ", b"Rar!", b"7z\xbc\xaf", b"OggS", b"ID3", b"\x00\x00\x00", b"RIFF",
    b"\x7fELF", b"MZ",
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False  # a BOM: UTF-16/UTF-8 text, even if it carries NULs
    if sample.startswith(_BINARY_MAGIC):
        return True
    if not sample:
        return False
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return controls / len(sample) > 0.05


def to_text(document: str | bytes, content_type: str | None = None) -> str:
    """The document as text, capped; raises ParseError when it is not a document."""
    if isinstance(document, bytearray | memoryview):
        document = bytes(document)
    if isinstance(document, bytes):
        if _looks_binary(document):
            raise ParseError("input looks like binary data, not an HTML document")
        document = decode_html(document[: MAX_INPUT_CHARS * 2], content_type)
    elif not isinstance(document, str):
        raise ParseError(f"expected HTML as str or bytes, got {type(document).__name__}")
    text = document[:MAX_INPUT_CHARS]
    if text and len(CONTROL_CHARACTERS.findall(text[:4096])) > len(text[:4096]) * 0.05:
        raise ParseError("input looks like binary data, not an HTML document")
    return text


def parse_tree(text: str) -> etree._Element | None:
    """An lxml HTML tree, or None for a document with nothing in it."""
    text = _XML_DECLARATION.sub("", text, count=1)
    text = CONTROL_CHARACTERS.sub("", text)
    if not text.strip():
        return None
    # Plain etree elements: lxml.html's per-element class lookup costs ~15% for nothing we use.
    parser = etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=False,
        no_network=True, recover=True, default_doctype=False,
    )
    try:
        root = etree.fromstring(text.encode("utf-8", errors="replace"), parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    return root
