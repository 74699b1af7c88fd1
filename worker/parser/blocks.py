"""Linearising a tree into text blocks: the unit every body heuristic works on.

A block is a run of text between two block-level boundaries (a <p>, a <div>,
a <br>…), with the characters that sat inside links and the innermost
block-level element that owns it. Walking with iterwalk keeps this iterative:
hostile nesting cannot exhaust the Python stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .text import clean_line

BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog div dl dt fieldset "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main nav ol p pre section "
    "summary table tbody tfoot thead tr ul caption".split()
)
# Cells of a row read as one line, as a reader (and the benchmarks) would copy it.
CELLS = frozenset(("td", "th"))
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
LEAD_IN_HEADING_CHARS = 100


@dataclass(slots=True)
class Block:
    text: str
    link_chars: int
    owner: etree._Element  # innermost block-level element around the text

    @property
    def link_density(self) -> float:
        return self.link_chars / max(len(self.text), 1)

    @property
    def is_heading(self) -> bool:
        """A heading tag holding a heading: sites also set their lead paragraph in an
        <h2> or <h3> for its size, and a sentence that long is prose, not a title."""
        return self.owner.tag in HEADINGS and (
            len(self.text) < LEAD_IN_HEADING_CHARS or self.owner.tag == "h1")


def linearise(
    scope: etree._Element, max_blocks: int = 20_000, also_blocks: frozenset[etree._Element] = frozenset()
) -> list[Block]:
    """Text blocks under `scope` in document order.

    `also_blocks` are elements to treat as block boundaries whatever their tag (an
    inline <span itemprop="articleBody"> must own its text).
    """
    blocks: list[Block] = []
    owners: list[etree._Element] = [scope]
    parts: list[str] = []
    link_chars = 0
    link_depth = 0

    def flush() -> None:
        nonlocal link_chars
        if parts:
            text = clean_line("".join(parts))
            if text and len(blocks) < max_blocks:
                blocks.append(Block(text, min(link_chars, len(text)), owners[-1]))
            parts.clear()
        link_chars = 0

    def add(text: str | None) -> None:
        nonlocal link_chars
        if text:
            parts.append(text)
            if link_depth:
                link_chars += len(text.strip())

    for event, el in etree.iterwalk(scope, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if (tag in BLOCK_TAGS or el in also_blocks) and el is not scope:
                flush()
                owners.append(el)
            elif tag == "br":
                flush()
            elif tag in CELLS:
                parts.append(" ")
            elif tag == "a":
                link_depth += 1
            add(el.text)
        else:
            if (tag in BLOCK_TAGS or el in also_blocks) and el is not scope:
                flush()
                owners.pop()
            elif tag == "a":
                link_depth -= 1
            if el is not scope:
                add(el.tail)
    flush()
    return blocks
