"""The article body of a page: our extractor first, then the guards against its failures.

1. Our extractor (body.py) on the page tree; a container the publisher marked
   itemprop=articleBody is taken at its word.
2. Otherwise, when the result looks implausible or brief (plausible.py), the publisher's
   own JSON-LD articleBody, then trafilatura (second_opinion.py). Each replaces our result
   when it brings clearly more text; one that mostly disagrees with ours (most of its text
   is not in ours: we kept the wrong block, or one post of a thread) adds the paragraphs
   we lack; one that largely agrees and is not longer is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lxml import etree

from .body import extract_body, json_ld_body, paragraph_chars
from .boilerplate import is_boilerplate_line
from .lede import contains, find_lede, with_lede
from .plausible import implausible, worth_a_second_look
from .second_opinion import second_opinion

# An alternative shorter than this (a nav label like "Home") is never taken.
MIN_OPINION_CHARS = 80
# An alternative replaces our body only when it is this much longer (in characters).
REPLACE_FACTOR = 1.5
# An alternative "disagrees" with our body when less than this share of its word 4-grams
# are in ours: then neither is trusted alone, and its missing paragraphs are added.
AGREEMENT = 0.5
SHINGLE = 4
# ...unless it is much shorter than ours: a different caption or teaser, not missing text.
MIN_MERGE_SHARE = 0.5
# Real pages have a few thousand elements (under 7,000 in all benchmark pages); on a tree
# larger than this the second opinion is skipped, because its time grows with the tree
# (20 MB of tags took it 10 s) and such a page is junk, not a story we failed to read.
SECOND_OPINION_MAX_ELEMENTS = 15_000
# A breadcrumb trail before a repeated headline: a few short section names.
MAX_TRAIL_CHARS = 60
_SENTENCE_END = re.compile(r"[.!?…]$")


def main_text(root: etree._Element, html: str, url: str, json_ld: list[dict[str, Any]], title: str = "",
              description: str = "") -> list[str]:
    """Body paragraphs of the page; cleans `root` in place (read metadata first)."""
    elements = sum(1 for _ in root.iter())
    scope = root.find("body")
    lede = find_lede(scope if scope is not None else root, description)
    from_ld = json_ld_body(json_ld)
    # The publisher's own articleBody says how long the story is, where there is one.
    yardstick = max(paragraph_chars(root), _chars(from_ld))
    if lede and from_ld and not contains(from_ld, lede):
        lede = None  # the publisher's own articleBody leaves it out: a dek, not the lede
    body = extract_body(root)
    paragraphs = body.paragraphs
    if body.marked or not worth_a_second_look(paragraphs, yardstick):
        # itemprop=articleBody is the publisher's word: no second opinion
        return _without_title(with_lede(paragraphs, lede), title)
    alternatives: list[Callable[[], list[str] | None]] = [lambda: from_ld]
    if elements <= SECOND_OPINION_MAX_ELEMENTS:
        alternatives.append(lambda: second_opinion(html, url))
    for alternative in alternatives:
        candidate = alternative() or []
        if _chars(candidate) < MIN_OPINION_CHARS:
            continue  # a menu label or a caption is no story, whatever ours was
        if _chars(candidate) > REPLACE_FACTOR * _chars(paragraphs):
            paragraphs = candidate
            if implausible(paragraphs, yardstick) is None:
                break
        elif (_chars(candidate) >= MIN_MERGE_SHARE * _chars(paragraphs)
              and agreement(paragraphs, candidate) < AGREEMENT):
            paragraphs = merge_missing(paragraphs, candidate)
    return _without_title(with_lede(paragraphs, lede), title)


def _shingles(paragraphs: list[str]) -> set[tuple[str, ...]]:
    words = " ".join(paragraphs).split()
    if not words:
        return set()
    return {tuple(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}


def agreement(ours: list[str], theirs: list[str]) -> float:
    """Share of the other body's word 4-grams that are also in ours (1.0 when it is empty)."""
    other = _shingles(theirs)
    return len(other & _shingles(ours)) / len(other) if other else 1.0


def merge_missing(ours: list[str], theirs: list[str]) -> list[str]:
    """Our paragraphs plus the other body's paragraphs that ours lacks, each placed after
    the last paragraph both bodies share before it (their order kept; after all of ours
    when they share none), furniture lines left out."""
    merged = [" ".join(p.split()) for p in ours]
    ours_text = "\n".join(merged)
    lines = [line for line in (" ".join(p.split()) for p in theirs) if line]
    position = 0 if any(line in ours_text for line in lines) else len(merged)
    for line in lines:
        shared = next((i for i, p in enumerate(merged) if line in p), None)
        if shared is not None:
            position = shared + 1
        elif not is_boilerplate_line(line):
            merged.insert(position, line)
            position += 1
    return merged


def _chars(paragraphs: list[str]) -> int:
    return sum(len(p) for p in paragraphs)


def _without_title(paragraphs: list[str], title: str) -> list[str]:
    """The headline repeated as a first line (other extractors keep it, some pages set it
    twice) is Article.title, not body; so is a breadcrumb trail that ends with it
    ("Home Climate <headline>")."""
    if not paragraphs or not title.strip():
        return paragraphs
    first, wanted = paragraphs[0].strip().casefold(), title.strip().casefold()
    if first == wanted:
        return paragraphs[1:]
    trail = first[: -len(wanted)]
    if (first.endswith(wanted) and len(trail) <= MAX_TRAIL_CHARS
            and not _SENTENCE_END.search(trail.strip())):
        return paragraphs[1:]
    return paragraphs
