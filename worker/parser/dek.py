"""The dek: the summary a template sets under a headline, which is not the story's lede.

Zyte's ground truth and publishers' own articleBody leave it out; a lead paragraph set
apart in the header is the story's first paragraph all the same (lede.py). What tells
them apart is what the template calls them.
"""

from __future__ import annotations

import re

from lxml import etree

# Templates name the two kinds of paragraph under a headline differently. A lead, intro,
# teaser or excerpt opens the story (German "Vorspann", the first paragraph in bold); a
# dek, standfirst, subtitle, summary or abstract is a second headline that summarises the
# story beside it, which the body then tells again (its publishers leave it out of their
# articleBody). The same goes for a summary set in a heading tag. Names are read on the
# paragraph and its nearest ancestors, where templates put them.
_DEK_NAME = re.compile(
    r"(?:^|[\s_-])(?:deck|dek|standfirst|stand-first|strapline|sub-?titles?|sub-?heads?|"
    r"sub-?headlines?|sub-?heading|summary|abstract|des|desc|description|tagline|kicker)"
    r"(?:$|[\s_-])",
    re.IGNORECASE,
)
_DEK_TAGS = frozenset("h1 h2 h3 h4 h5 h6".split())
DEK_NAME_DEPTH = 3
# A data attribute longer than this holds data (JSON, a URL), not a name.
MAX_DATA_NAME = 40
# camelCase split into words: "articleStandfirst" names a standfirst.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def is_dek(block: etree._Element) -> bool:
    """Is the block named (or set in a heading tag) as a dek rather than a lead?"""
    return block.tag in _DEK_TAGS or dek_holder(block) is not None


def dek_holder(block: etree._Element) -> etree._Element | None:
    """The element around the block (itself or a near ancestor) named as a dek, or None."""
    for depth, node in enumerate((block, *block.iterancestors())):
        if depth >= DEK_NAME_DEPTH or node.tag in ("article", "main", "body"):
            return None
        if _DEK_NAME.search(_CAMEL.sub("-", _names(node))):
            return node
    return None


def _names(node: etree._Element) -> str:
    """What the template calls the element: class, id and the data attributes component
    frameworks name their parts with (data-gu-name="standfirst", data-testid="dek").
    Not itemprop="description": TYPO3's news template puts it on its lead ("teaser-text")."""
    names = [node.get("class", ""), node.get("id", "")]
    names.extend(value for key, value in node.attrib.items()
                 if isinstance(key, str) and key.startswith("data-") and len(value) <= MAX_DATA_NAME)
    return " ".join(names)
