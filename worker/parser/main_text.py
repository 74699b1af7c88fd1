"""The article body of a page: our extractor first, then the guards against its failures.

1. Our extractor (body.py) on the page tree; a container the publisher marked
   itemprop=articleBody is taken at its word.
2. Otherwise, when the result looks implausible (plausible.py), the publisher's own JSON-LD
   articleBody, then trafilatura (second_opinion.py), each replacing our result only
   when it brings clearly more text: a second opinion that is not better is ignored.
"""

from __future__ import annotations

from lxml import etree

from .body import extract_body, json_ld_body, paragraph_chars
from .plausible import implausible
from .second_opinion import second_opinion

# An alternative replaces our body only when it is this much longer (in characters),
# and has at least one paragraph this long: a menu label or a caption is no article.
REPLACE_FACTOR = 1.5
MIN_PROSE_PARAGRAPH = 80
# Real pages have a few thousand elements (under 7,000 in all benchmark pages); on a tree
# larger than this the second opinion is skipped, because its time grows with the tree
# (20 MB of tags took it 10 s) and such a page is junk, not a story we failed to read.
SECOND_OPINION_MAX_ELEMENTS = 15_000


def main_text(root: etree._Element, html: str, url: str, json_ld: list[dict], title: str = "") -> list[str]:
    """Body paragraphs of the page; cleans `root` in place (read metadata first)."""
    elements = sum(1 for _ in root.iter())
    from_ld = json_ld_body(json_ld)
    # The publisher's own articleBody says how long the story is, where there is one.
    yardstick = max(paragraph_chars(root), _chars(from_ld))
    body = extract_body(root)
    paragraphs = body.paragraphs
    if body.marked or implausible(paragraphs, yardstick) is None:
        # itemprop=articleBody is the publisher's word: no second opinion
        return _without_title(paragraphs, title)
    alternatives = [lambda: from_ld]
    if elements <= SECOND_OPINION_MAX_ELEMENTS:
        alternatives.append(lambda: second_opinion(html, url))
    for alternative in alternatives:
        candidate = alternative() or []
        if _chars(candidate) > REPLACE_FACTOR * _chars(paragraphs) and any(
                len(paragraph) >= MIN_PROSE_PARAGRAPH for paragraph in candidate):
            paragraphs = candidate
            if implausible(paragraphs, yardstick) is None:
                break
    return _without_title(paragraphs, title)


def _chars(paragraphs: list[str]) -> int:
    return sum(len(p) for p in paragraphs)


def _without_title(paragraphs: list[str], title: str) -> list[str]:
    """The headline repeated as a first line (other extractors keep it, some pages set it
    twice) is Article.title, not body."""
    if paragraphs and title and paragraphs[0].strip().casefold() == title.strip().casefold():
        return paragraphs[1:]
    return paragraphs
