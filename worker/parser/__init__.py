"""The shared parser: every page and feed entry becomes the same normalised Article.

    from worker.parser import parse_html, parse_text, parse_entry, ParseError

Stages, one module each: encoding (bytes to text), document (bounded lxml
parsing), metadata (title, authors, dates, canonical…), clean (furniture
removal), blocks + body (main text), capture (text captures), boilerplate (furniture lines), dates,
text (whitespace), language (detection fallback), article (assembly).
"""

from .article import parse_entry, parse_html, parse_text
from .errors import ParseError

__all__ = ["ParseError", "parse_entry", "parse_html", "parse_text"]
