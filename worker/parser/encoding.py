"""Bytes to text: the one place that decides how a page is decoded.

Order of trust: a byte-order mark (it cannot lie), then the HTTP charset, then
a <meta> charset, each only if the bytes really decode with it; pages whose
declarations lie fall back to strict UTF-8 and finally to charset-normalizer's
detection. Declared Latin-1 over valid multi-byte UTF-8 is the classic lie that
produces mojibake, so valid UTF-8 wins over a single-byte declaration; a declared
UTF-16 or UTF-32 over bytes without a single zero byte is another lie (CJK soup).
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from ..headers import charset_param

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"<\?xml[^>]+encoding\s*=\s*[\"']([\w.:-]+)", re.IGNORECASE)
# Single-byte charsets that servers declare by default whatever the page holds.
_SINGLE_BYTE = {"latin-1", "iso8859-1", "cp1252", "ascii", "iso8859-15"}
# Codecs whose every character takes two or four bytes (codecs.lookup names).
_WIDE = ("utf-16", "utf-32")
_WIDE_SAMPLE = 4096


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    """The codec named by a Content-Type header, if it names a known one."""
    return _codec(charset_param(content_type))


def _declared_in_document(head: bytes) -> str | None:
    for pattern in (_META_CHARSET, _XML_ENCODING):
        match = pattern.search(head)
        if match:
            codec = _codec(match.group(1).decode("ascii", "ignore"))
            if codec:
                return codec
    return None


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _believable(declared: str | None, data: bytes) -> str | None:
    """The declared codec, or None when the bytes show it cannot be theirs: UTF-16 and
    UTF-32 spell ASCII markup with zero bytes, so bytes without any are in an
    ASCII-compatible encoding whatever the page says (the HTML standard reads a <meta>
    naming utf-16 as utf-8)."""
    if declared and declared.startswith(_WIDE) and b"\x00" not in data[:_WIDE_SAMPLE]:
        return None
    return declared


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Decode a page to text, never raising and never returning mojibake knowingly."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    utf8 = _strict(data, "utf-8")
    for named in (charset_from_content_type(content_type), _declared_in_document(data[:8192])):
        declared = _believable(named, data)
        if not declared:
            continue
        if declared in _SINGLE_BYTE and utf8 is not None and not data.isascii():
            return utf8
        if declared == "latin-1" or declared == "iso8859-1":
            # Browsers read Latin-1 as windows-1252; so must we (curly quotes in 0x80-0x9f).
            declared = "cp1252"
        text = _strict(data, declared)
        if text is not None:
            return text
    if utf8 is not None:
        return utf8
    return _detected(data)


def _detected(data: bytes) -> str:
    # Detect on the text, not the markup: tags are ASCII and only dilute the evidence.
    sample = re.sub(rb"<[^>]{0,500}>", b" ", data[:200_000])
    results = list(from_bytes(sample))
    if results:
        best = results[0]
        # Close calls go to windows-1252, the web's legacy default (what browsers assume).
        for match in results:
            if match.encoding == "cp1252" and match.chaos <= best.chaos + 0.1:
                return data.decode("cp1252", errors="replace")
        return data.decode(best.encoding, errors="replace")
    return data.decode("utf-8", errors="replace")
