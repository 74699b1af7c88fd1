"""Main text: find the container that holds the article, then keep its prose blocks.

1. Container. The element the publisher marked itemprop=articleBody when there
   is one; otherwise every block votes for its block-level ancestors with its
   prose characters (unlinked text in blocks long enough to be sentences) minus
   a penalty for link text and short fragments, and the element with the highest
   total wins. Link lists pull a candidate down, while an ad slot between two
   halves of an article costs less than the second half brings.
2. Run. Inside a scored container, the densest contiguous run of prose, which
   stops where link lists that share the container begin.
3. Blocks. Link-dense blocks, known furniture lines, orphan headings and
   label-like fragments at the edges are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .blocks import Block, linearise
from .boilerplate import is_boilerplate_line
from .clean import clean_tree
from .document import CONTROL_CHARACTERS, MAX_INPUT_CHARS, parse_tree
from .text import clean_line, split_paragraphs

MAX_ANCESTORS = 40  # deeper containers than this are not articles; bounds the work per block
LINK_PENALTY = 1.0
SHORT_PENALTY = 0.3
MIN_MARKED_CHARS = 200
RUN_LINK_PENALTY = 1.5
LEAD_LINK_PENALTY = 0.5
MAX_LABEL_CHARS = 60
ARTICLE_SHARE = 0.6
_SENTENCE_END = re.compile(r"[.!?…:;\"'”’»)]$")
# A time of day or a year: the mark of a date line ("Monday, November 18, 2019, 04:05 pm").
_STAMP = re.compile(r"\b\d{1,2}[:.]\d{2}\b|(?<!\d)(?:19|20)\d{2}(?!\d)")
MAX_STAMP_CHARS = 80
_FULL_STOP = re.compile(r"[.!?…]$")
# "Ann Example is a staff writer for …", "Bo Sample is IGN's deal curator and …"
_BIO = re.compile(
    r"^[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3} is (?:a|an|the|our|\w+['’]s)\b[^.!?]{0,80}\b"
    r"(?:writer|editor|reporter|correspondent|curator|contributor|journalist|columnist|author|"
    r"producer|critic|blogger|analyst)s?\b")
MAX_BIO_CHARS = 300
# An image's alt text this long describes it (shorter ones are names: "logo", "Ann Example").
MIN_ALT_CHARS = 20
MAX_CAPTION_CHARS = 400
MAX_CREDIT_CHARS = 80
_CREDIT_OPENERS = frozenset("(|[-–—©/:")


def _prose(block: Block) -> float:
    """Characters of sentence-like, unlinked text in the block."""
    if block.is_heading or block.link_density > 0.5:
        return 0.0
    length = len(block.text)
    if length >= 80 or (length >= 25 and _SENTENCE_END.search(block.text)):
        return length * (1 - block.link_density)
    return 0.0


def _short(block: Block) -> float:
    """Cost of a fragment that is neither prose nor link (labels, dates, bylines)."""
    if block.is_heading or _prose(block) > 0:
        return 0.0
    return SHORT_PENALTY * (len(block.text) - block.link_chars)


def _penalty(block: Block) -> float:
    if block.is_heading:
        return 0.0
    return LINK_PENALTY * block.link_chars + _short(block)


def choose_container(blocks: list[Block]) -> etree._Element | None:
    """The element whose blocks carry the most prose net of link text and fragments."""
    gains: dict[etree._Element, float] = {}
    for block in blocks:
        value = _prose(block) - _penalty(block)
        if value == 0.0:
            continue
        el: etree._Element | None = block.owner
        for _ in range(MAX_ANCESTORS):
            if el is None:
                break
            gains[el] = gains.get(el, 0.0) + value
            el = el.getparent()
    if not gains:
        return None
    best = max(gains, key=gains.__getitem__)
    # A page that appends further stories (infinite scroll, "more posts") puts each in its
    # own <article>: when one of them carries most of the winner's prose, it is the story.
    articles = [el for el in gains if el.tag == "article" and el is not best and _within(el, best)]
    if articles:
        top = max(articles, key=gains.__getitem__)
        if gains[top] >= ARTICLE_SHARE * gains[best]:
            return top
    return best


def marked_body(scope: etree._Element) -> list[etree._Element]:
    """The elements the publisher marked itemprop=articleBody, when they hold real text.

    Publishers add this for search engines, and it is more precise than any score. Some
    mark every paragraph: marked siblings are parts of one body; among groups under
    different parents (a list of stories, each marked), the one with the most text wins.
    """
    groups: dict[etree._Element | None, list[etree._Element]] = {}
    lengths: dict[etree._Element | None, int] = {}
    for el in scope.iter():
        if isinstance(el.tag, str) and el.get("itemprop") == "articleBody":
            if any(a.get("itemprop") == "articleBody" for a in el.iterancestors()):
                continue  # inside a marked element already
            parent = el.getparent()
            groups.setdefault(parent, []).append(el)
            lengths[parent] = lengths.get(parent, 0) + len(clean_line(" ".join(el.itertext())))
    if not groups:
        return []
    best = max(lengths, key=lengths.__getitem__)
    return groups[best] if lengths[best] >= MIN_MARKED_CHARS else []


# Where the story is: the one element chosen by its prose, or the elements the publisher
# marked itemprop=articleBody.
Container = etree._Element | frozenset[etree._Element]


def _within(el: etree._Element | None, container: Container) -> bool:
    """Is `el` the container or inside it (or inside one of a set of containers)?"""
    for _ in range(MAX_ANCESTORS + 1):
        if el is None:
            return False
        if el is container or (isinstance(container, frozenset) and el in container):
            return True
        el = el.getparent()
    return False


def keep_block(block: Block) -> bool:
    """Is this block article text (inside the chosen container)?"""
    if block.owner.tag == "h1":
        return False  # the headline is Article.title, not body
    return not _link_block(block) and not is_boilerplate_line(block.text)


def _link_block(block: Block) -> bool:
    return block.link_density > 0.5 and not _linked_sentence(block)


def _linked_sentence(block: Block) -> bool:
    """A real sentence that happens to be mostly a link ("…was re-opened earlier this year.").
    Related-story links are bare headlines: no closing punctuation, fewer words."""
    return (
        block.link_density < 0.95
        and len(block.text.split()) >= 8
        and bool(_SENTENCE_END.search(block.text))
    )


def paragraph_chars(root: etree._Element) -> int:
    """Characters in the page's sentence-length <p> paragraphs, before any cleaning: a
    yardstick for the result that no furniture rule can have shrunk (comments included)."""
    total = 0
    for p in root.iter("p"):
        length = len(clean_line("".join(p.itertext())))
        if length >= 80:
            total += length
    return total


def extract_paragraphs(root: etree._Element) -> list[str]:
    """The article paragraphs of a cleaned-up page tree (cleans `root` in place)."""
    return extract_body(root).paragraphs


@dataclass(slots=True)
class Body:
    paragraphs: list[str]
    marked: bool  # the publisher marked the container itemprop=articleBody


def extract_body(root: etree._Element) -> Body:
    """The article paragraphs, and how the container was found (cleans `root` in place)."""
    captions = image_descriptions(root)
    clean_tree(root)
    body = root.find("body")
    scope = body if body is not None else root
    marked = frozenset(marked_body(scope))
    blocks = linearise(scope, also_blocks=marked)
    container = marked or choose_container(blocks)
    if container is None:
        return Body([], False)
    inside = [b for b in blocks if _within(b.owner, container)]
    if not marked:
        before = _lead_in(blocks, inside, container)
        inside = densest_run(before + inside, lead=len(before))
    kept = [b for b in _drop_orphan_headings(inside)
            if keep_block(b) and not _repeats_image_text(b.text, captions)]
    return Body(_trim_fragments([b.text for b in kept]), bool(marked))


@dataclass(frozen=True, slots=True)
class ImageTexts:
    """The alt texts of a page's images long enough to describe them (casefolded), and
    their lengths (a block is checked against each length once, not against each text)."""
    texts: frozenset[str] = frozenset()
    lengths: frozenset[int] = frozenset()


def image_descriptions(root: etree._Element) -> ImageTexts:
    found = {alt.casefold() for alt in (clean_line(img.get("alt") or "") for img in root.iter("img"))
             if len(alt) >= MIN_ALT_CHARS}
    return ImageTexts(frozenset(found), frozenset(map(len, found)))


def _repeats_image_text(text: str, images: ImageTexts) -> bool:
    """A line saying what an image's alt text says is the image's caption ("Typing on the
    new keyboard"), maybe followed by its credit ("… (Image: NASA)", "… | © AP"). A
    sentence that merely starts with the words of an alt text ("President Ann Example said
    …") goes on with words, not with a credit."""
    if not images.texts or len(text) > MAX_CAPTION_CHARS:
        return False
    folded = text.casefold()
    for length in images.lengths:
        if folded[:length] in images.texts:
            rest = folded[length:].strip()
            if not rest or (len(rest) <= MAX_CREDIT_CHARS and rest[0] in _CREDIT_OPENERS):
                return True
    return False


def _drop_orphan_headings(blocks: list[Block]) -> list[Block]:
    """Headings introduce text; one followed by another heading, by nothing or by a list
    of links (two link blocks at least) heads a widget ("More Blog Stories", "Related
    coverage"), not a section. One link under a heading is a source the section cites."""
    kept: list[Block] = []
    for index, block in enumerate(blocks):
        if block.is_heading:
            following = blocks[index + 1 : index + 3]
            if (not following or following[0].is_heading
                    or (len(following) == 2 and all(map(_link_block, following)))):
                continue
        kept.append(block)
    return kept


def _lead_in(blocks: list[Block], inside: list[Block], container: Container) -> list[Block]:
    """The blocks that precede the container inside its parent element: where a template
    sets the lede apart in a box of its own before the story's (not the page's body). An
    <article> or marked container is the publisher's own boundary of the story."""
    if not inside or isinstance(container, frozenset) or container.tag == "article":
        return []
    parent = container.getparent()
    if parent is None or parent.tag in ("body", "html"):
        return []
    first = next(i for i, b in enumerate(blocks) if b is inside[0])
    start = first
    while start > 0 and _within(blocks[start - 1].owner, parent):
        start -= 1
    return blocks[start:first]


def densest_run(blocks: list[Block], lead: int = 0) -> list[Block]:
    """The contiguous run of blocks with the most prose net of (heavily weighted) links.

    Inside a container, the article is one run of prose; teaser lists that share the
    container alternate a linked headline with a blurb, and every headline costs
    more than its blurb brings, so the run stops where the teasers begin. The first
    `lead` blocks (those before the container) can only join the run as its lede.
    """
    best_sum, best_start, best_end = 0.0, lead, lead
    running, start = 0.0, lead
    for index in range(lead, len(blocks)):
        block = blocks[index]
        links = block.link_chars if block.link_density > 0.5 else 0
        value = _prose(block) - RUN_LINK_PENALTY * links - _short(block)
        if running <= 0:
            running, start = 0.0, index
        running += value
        if running > best_sum:
            best_sum, best_start, best_end = running, start, index + 1
    if best_sum <= 0:
        return blocks[lead:]
    return blocks[_with_lede(blocks, best_start):best_end]


def _with_lede(blocks: list[Block], start: int) -> int:
    """Where the run starts once a lede cut off by an inline widget is taken back.

    Teasers follow a story; what comes before it inside the container is headline, byline
    and lede. A lede set apart by a few related links or an ad label is worth less than
    the links cost at the run's weight, so here links cost less: the run starts earlier
    when the prose before the gap outweighs it (the links themselves are dropped later).
    """
    best, best_start, running = 0.0, start, 0.0
    for index in range(start - 1, -1, -1):
        block = blocks[index]
        links = block.link_chars if block.link_density > 0.5 else 0
        running += _prose(block) - LEAD_LINK_PENALTY * links - _short(block)
        if running > best:
            best, best_start = running, index
    return best_start


def _trim_fragments(paragraphs: list[str]) -> list[str]:
    """Drop label-like fragments (bylines, dates, counters) at the edges of the body, the
    date line under the headline, and labels that close it ("Contact:", "Sources:"): what
    they introduced was furniture. (A dated line closing the body stays: it signs a quoted
    post, "— Ann (@ann) November 18, 2019".)"""
    def fragment(text: str) -> bool:
        return len(text) < 40 and not _SENTENCE_END.search(text)

    def stamp(text: str) -> bool:
        # "3 de mayo de 2022 21:25 LA NACION", "Monday, November 18, 2019, 04:05 pm"
        return (len(text) <= MAX_STAMP_CHARS and not _FULL_STOP.search(text)
                and bool(_STAMP.search(text)))

    def label(text: str) -> bool:
        return len(text) <= MAX_LABEL_CHARS and text.endswith(":")

    start, end = 0, len(paragraphs)
    while start < end and (fragment(paragraphs[start]) or stamp(paragraphs[start])):
        start += 1
    while end > start and (fragment(paragraphs[end - 1]) or label(paragraphs[end - 1])
                           or _about_the_author(paragraphs[end - 1])):
        end -= 1
    return paragraphs[start:end]


def _about_the_author(text: str) -> bool:
    """The line about the writer closing a story: "Ann Example is a staff writer at …"."""
    return len(text) <= MAX_BIO_CHARS and bool(_BIO.match(text))


_ANY_TAG = re.compile(r"<[^>]*>?")
_BARE_P_TAGS = frozenset(("<p>", "</p>"))
_BARE_P_SPLIT = re.compile(r"</?p>")


def fragment_paragraphs(fragment: str) -> list[str]:
    """Paragraphs of an HTML fragment that is already the article (feed content)."""
    fragment = fragment[:MAX_INPUT_CHARS]
    if "&" not in fragment and _BARE_P_TAGS.issuperset(_ANY_TAG.findall(fragment)):
        # Most feed descriptions: plain text in bare <p> tags. There is nothing to decode,
        # clean or weigh, so splitting on the tags gives the paragraphs the tree would,
        # about ten times faster (tests/test_parser_body.py holds the two paths equal).
        return _bare_paragraphs(fragment)
    return _tree_paragraphs(fragment)


def _bare_paragraphs(fragment: str) -> list[str]:
    # As parse_tree does: control characters dropped, unencodable characters replaced.
    text = CONTROL_CHARACTERS.sub("", fragment).encode("utf-8", errors="replace").decode("utf-8")
    lines = (clean_line(piece) for piece in _BARE_P_SPLIT.split(text))
    return [line for line in lines if line and not is_boilerplate_line(line)]


def _tree_paragraphs(fragment: str) -> list[str]:
    root = parse_tree(f"<html><body>{fragment}</body></html>")
    if root is None:
        return []
    clean_tree(root)
    body = root.find("body")
    blocks = linearise(body if body is not None else root)
    return [b.text for b in blocks if keep_block(b)]


def json_ld_body(objects: list[dict[str, Any]]) -> list[str]:
    """articleBody from JSON-LD, split into paragraphs, furniture lines removed."""
    for obj in objects:
        value = obj.get("articleBody")
        if isinstance(value, str) and value.strip():
            return [p for p in split_paragraphs(value) if not is_boilerplate_line(p)]
    return []


def filter_text(paragraphs: list[str]) -> list[str]:
    """Final guard for any path: no furniture line reaches Article.text."""
    return [p for p in (clean_line(p) for p in paragraphs) if p and not is_boilerplate_line(p)]


