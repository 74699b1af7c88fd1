"""Whitespace rules for everything the parser returns."""

from __future__ import annotations

import re

_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")


def clean_line(text: str) -> str:
    """One paragraph on one line: runs of any whitespace become one space."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", text)).strip()


def join_paragraphs(paragraphs: list[str]) -> str:
    """Paragraphs separated by one blank line, empty ones dropped."""
    return "\n\n".join(p for p in (clean_line(p) for p in paragraphs) if p)


def split_paragraphs(text: str) -> list[str]:
    return [p for p in (clean_line(p) for p in re.split(r"\n\s*\n", text)) if p]
