"""The parser's one documented error type."""

from __future__ import annotations

from ..errors import NewswatchError


class ParseError(NewswatchError, ValueError):
    """The input is not a document at all (binary data, not text, not markup).

    Everything else, however broken, still gives an Article (possibly with empty text).
    """
