"""The lede a template sets apart from the story: the standfirst in the page header, a
teaser box above the photo, a paragraph outside the element marked articleBody.

Readers see it as the story's first paragraph, and the publisher says which one it is:
the page's description (meta description, og:description) is that paragraph, often
word for word. It is found on the raw tree, before cleaning, because the header or
"teaser" box holding it is exactly what the furniture rules drop.
"""

from __future__ import annotations

import re

from lxml import etree

from .blocks import BLOCK_TAGS
from .dek import is_dek
from .text import clean_line

# A description shorter than this is a slogan or a site blurb, too short to recognise.
MIN_LEDE_CHARS = 80
# The paragraph must start with this much of the description (the rest may be cut off).
MATCH_CHARS = 80
# ...and be not much longer than it: a container that merely starts with it is the story.
MAX_LENGTH_FACTOR = 2.0
MAX_EXTRA_CHARS = 300
MAX_LINK_SHARE = 0.3
# Text that is not shown as prose (a description repeated there is data, not a lede), and
# captions: a photo's caption often doubles as the description.
_NOT_LEDE = frozenset(
    "script style noscript template textarea title meta head figure figcaption".split())
# A sentence end followed by more text: a lede has two sentences at least, where a dek
# (the one-line summary under a headline, which many define as outside the body) has one.
_SECOND_SENTENCE = re.compile(r"[.!?…][\"'”’»)]?\s+\S")
_TAG = re.compile(r"<[^>]*>")
_CUT = re.compile(r"\s*(?:\.\.\.|…|\[…\]|\[\.\.\.\])$")


def _plain(description: str) -> str:
    # Some CMSs put the lede's markup into the meta tag ("<p>Die frühen …").
    return _CUT.sub("", clean_line(_TAG.sub(" ", description)))


def find_lede(scope: etree._Element, description: str) -> str | None:
    """The text of the block that the page's description introduces, or None."""
    wanted = _plain(description)
    if len(wanted) < MIN_LEDE_CHARS:
        return None
    prefix = wanted[:MATCH_CHARS]
    first_word = prefix.split()[0]
    for el in scope.iter():
        if not isinstance(el.tag, str):
            continue
        for text, holder in ((el.text, el), (el.tail, el.getparent())):
            if not text or first_word not in text or holder is None:
                continue
            block = _block_of(holder)
            if block is None:
                continue
            found = _as_lede(block, prefix, len(wanted))
            if found:
                return found
    return None


def _block_of(el: etree._Element) -> etree._Element | None:
    """The nearest block-level element around `el`, None inside a caption or text never
    shown."""
    block = None
    for node in (el, *el.iterancestors()):
        if node.tag in _NOT_LEDE:
            return None
        if block is None and node.tag in BLOCK_TAGS:
            block = node
    return block


def _as_lede(block: etree._Element, prefix: str, wanted_chars: int) -> str | None:
    if is_dek(block):
        return None
    text = clean_line(" ".join(block.itertext()))
    if not text.startswith(prefix) or not _SECOND_SENTENCE.search(text):
        return None
    if len(text) > max(MAX_LENGTH_FACTOR * wanted_chars, wanted_chars + MAX_EXTRA_CHARS):
        return None
    linked = sum(len(clean_line(" ".join(a.itertext()))) for a in block.iter("a"))
    return text if linked <= MAX_LINK_SHARE * len(text) else None


def contains(paragraphs: list[str], lede: str) -> bool:
    """Do the paragraphs hold the lede (its opening, whitespace aside)?"""
    return lede[:MATCH_CHARS] in clean_line(" ".join(paragraphs))


def with_lede(paragraphs: list[str], lede: str | None) -> list[str]:
    """The body with its lede first, when the body has text and lacks it."""
    if not lede or not paragraphs or contains(paragraphs, lede):
        return paragraphs
    return [lede, *paragraphs]
