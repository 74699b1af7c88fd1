"""Is an extracted body believable? Cheap checks that catch the catastrophic outputs.

A heuristic extractor fails rarely but badly: an empty body, a photo caption, the one
paragraph it kept when the story sat in a block it took for furniture. These checks
look only at the result and at a yardstick taken from the raw page, so the common
case costs next to nothing; a body that fails them is worth a second opinion
(main_text.py), which then has to do clearly better to replace it.
"""

from __future__ import annotations

# Below this many characters a body is a brief at best; more often a caption or a teaser.
MIN_CHARS = 500
# A body holding less than this share of the page's sentence-length paragraphs probably
# kept one block of a story spread over several (or a sidebar beside it).
MIN_SHARE = 0.3
# Below this many characters a body is plausible but thin: a short story, or the one
# post of a thread, the intro of a page whose list or table we dropped. A second opinion
# costs little next to a lost page, and is only taken where it clearly adds (main_text.py).
BRIEF_CHARS = 1000


def implausible(paragraphs: list[str], page_paragraph_chars: int) -> str | None:
    """Why the body looks wrong ("empty", "short", "partial"), or None when it looks fine."""
    chars = sum(len(p) for p in paragraphs)
    if chars == 0:
        return "empty"
    if chars < MIN_CHARS:
        return "short"
    if chars < MIN_SHARE * page_paragraph_chars:
        return "partial"
    return None


def worth_a_second_look(paragraphs: list[str], page_paragraph_chars: int) -> bool:
    """Implausible, or plausible but brief enough that a second opinion may add to it."""
    return (implausible(paragraphs, page_paragraph_chars) is not None
            or sum(len(p) for p in paragraphs) < BRIEF_CHARS)
