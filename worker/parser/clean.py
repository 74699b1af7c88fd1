"""Pre-cleaning: remove what is never article text before looking for the article.

Two rules: tags that cannot hold prose (scripts, forms, navigation…) and blocks
whose class/id names them as page furniture (share bars, comments, ads, related
links, newsletter and app promos, login prompts, video widgets). A furniture
block is kept when it holds most of the page's text: some sites wrap the whole
page in a <form> or mark the article container "has-comments".
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree

# Never prose; dropped with their content wherever they are.
_ALWAYS = frozenset(
    "script style noscript template iframe object embed svg canvas video audio map "
    "select textarea input button dialog link meta head title figure figcaption picture "
    "source track math".split()
)
# Page structure that is furniture unless it is (nearly) the whole page.
_STRUCTURAL = frozenset("nav aside footer form header menu".split())
# Names that mark furniture whatever else the class says ("comment-content" is a comment,
# "caption-text" a caption, a "highlights" or "key-points" box repeats the story).
_STRONG = re.compile(
    r"(?:^|[\s_-])(?:share|sharing|sharer|social|socials|sosmed|comments?|komentar|disqus|"
    r"related|recommend\w*|rekomendasi|terkait|newsletter|subscribe|subscription|promo|"
    r"advert\w*|ads|ad|adv|iklan|sponsor\w*|outbrain|taboola|mgid|cookies?|gdpr|consent|"
    r"login|signin|sign-in|baca-juga|bacajuga|lihat-juga|also-read|readalso|"
    r"caption|captions|highlights|key-points|takeaways|respond|replies|sharedaddy|jp-relatedposts|app-promo|whatsapp|wa-channel|sr-only|visually-hidden|screen-reader-text|buy-box|buybox)"
    # compounds written as one word: "sharebar", "newsletterbox", "commentlist"
    r"(?:box|bar|block|area|list|links?|signup|teaser|module)?(?:$|[\s_-])",
    re.IGNORECASE,
)
# Names that mark furniture unless the same name also says content ("entry-content-read-more").
_WEAK = re.compile(
    r"(?:^|[\s_-])(?:banner|sidebar|breadcrumbs?|popup|modal|video|player|gallery|"
    r"trending|popular|most-read|terpopuler|more-stories|read-more|nav|navbar|navigation|menu|"
    r"footer|masthead|toolbar|print|rating|tags|tag-list|topics|author-bio|bio|pagination|"
    r"pager|widget|follow|skip-link|jump-link|toc|table-of-contents|paywall)(?:$|[\s_-])",
    re.IGNORECASE,
)
# Weak names that say what a block is built with rather than what it is for: page builders
# wrap every text column in a "widget", paywalls wrap the story itself.
_WRAPPER = re.compile(r"(?:^|[\s_-])(?:widget|gallery|paywall)(?:$|[\s_-])", re.IGNORECASE)
_CONTENT = re.compile(r"article|body|content|entry|main|post|story|text|isi|berita", re.IGNORECASE)
# "no-share", "noads", "has-sidebar", "with-comments": names that switch a feature on or off
# for the block describe the page around it, not what the block is.
_STATE = re.compile(r"^(?:no|hide|disable)[_-]?(?=[a-z])|^(?:has|with|without|is)[_-]", re.IGNORECASE)
# The box about the author under a story ("m-author__description", "author-box"); a short
# one is a byline, which is not body either, nor is the "meta" line under a headline
# (author, date, reading time): metadata reads them before this cleaning.
_AUTHOR_BOX = re.compile(r"(?:^|[_-])(?:author|autor|autorin|byline|bylines|meta)(?:$|[_-])",
                         re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_ROLES = frozenset("navigation complementary banner contentinfo search dialog alert".split())
# A furniture block holding more than this share of the page's text is the page.
KEEP_SHARE = 0.4
# A block named only for how it is built ("widget", "gallery", "paywall") that holds this
# much unlinked text in paragraphs is a page builder's or a paywall's wrapper around the story.
WRAPPER_KEEP_CHARS = 400
WRAPPER_KEEP_LINK_SHARE = 0.25
# Containers of the story and table internals: class names on rows ("player-2020") say nothing.
_NEVER_FURNITURE = frozenset("article main tr td th tbody thead tfoot".split())
TEASER_MAX_CHARS = 600
TEASER_LINK_SHARE = 0.2
_PROSE_TAGS = frozenset("p h1 h2 h3 h4 h5 h6 span a b strong em i br td th tr tbody".split())
# camelCase split into words: "imageEmbedCaption" names a caption.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def drop(el: etree._Element) -> None:
    """Remove an element and its content, keeping the text that follows it (its tail)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail and el.tail.strip():
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _text_lengths(
    root: etree._Element,
) -> tuple[dict[etree._Element, int], dict[etree._Element, int]]:
    """Characters of text, and of link text, under every element; bottom-up, no recursion."""
    lengths: dict[etree._Element, int] = {}
    links: dict[etree._Element, int] = {}
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for el in reversed(elements):
        own = len((el.text or "").strip())
        linked = 0
        for child in el:
            own += lengths.get(child, 0) + len((child.tail or "").strip())
            linked += links.get(child, 0)
        lengths[el] = own
        links[el] = own if el.tag == "a" else linked
    return lengths, links


def _embedded_posts(scope: etree._Element) -> set[etree._Element]:
    """Ancestors of embedded tweets and Instagram posts: quoted by the story, so part of
    it, even when their wrapper is named "social-embed" or "video-container"."""
    holders: set[etree._Element] = set()
    for quote in scope.iter("blockquote"):
        names = quote.get("class", "")
        if "tweet" in names or "instagram" in names:
            holders.update(quote.iterancestors())
    return holders


def _linked_heading(el: etree._Element) -> bool:
    """A headline that is a link: the mark of a teaser pointing to another story."""
    return bool(el.xpath(".//a//*[self::h2 or self::h3 or self::h4 or self::h5] | "
                         ".//*[self::h2 or self::h3 or self::h4 or self::h5]//a"))


def _teasers(
    scope: etree._Element, lengths: dict[etree._Element, int], links: dict[etree._Element, int]
) -> list[etree._Element]:
    """Items of teaser lists: three or more look-alike siblings, each a short text
    that is largely a link (a headline pointing elsewhere plus a blurb).

    Blurbs read like prose, so without this a "more stories" grid beside the
    article would count as article text.
    """
    found: list[etree._Element] = []
    for parent in scope.iter():
        if len(parent) < 3:
            continue
        groups: dict[tuple[str, str], list[etree._Element]] = {}
        for child in parent:
            if not isinstance(child.tag, str) or child.tag in _PROSE_TAGS:
                continue
            length = lengths.get(child, 0)
            if not 0 < length <= TEASER_MAX_CHARS:
                continue
            if links.get(child, 0) >= TEASER_LINK_SHARE * length or _linked_heading(child):
                groups.setdefault((child.tag, child.get("class", "")), []).append(child)
        for members in groups.values():
            if len(members) >= 3:
                found.extend(members)
    return found


def is_furniture(el: etree._Element) -> bool:
    """Does the element's class, id, role or style say it is not article text?"""
    return furniture_kind(el) is not None


def furniture_kind(el: etree._Element, *, author_box: bool = False) -> str | None:
    """"strong" when attributes or names say furniture whatever the content (hidden, a
    share bar, comments), "weak" for a furniture name ("sidebar", "footer"), "wrapper" when
    only a name prose can outweigh says so ("widget", "paywall"), else None.

    A name that switches a feature on or off ("no-share", "has-sidebar") is not read as
    that feature. With `author_box`, the box about the author counts as strong furniture
    (for the body; metadata still reads bylines in it)."""
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return "strong"
    if el.get("role", "").lower() in _ROLES:
        return "strong"
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return "strong"
    names, ident = el.get("class"), el.get("id")
    if names is None and ident is None:
        return None
    return _names_kind(names or "", ident or "", author_box)


@lru_cache(maxsize=8192)
def _names_kind(names: str, ident: str, author_box: bool) -> str | None:
    """What a class and id say; cached, since templates repeat the same names on every
    element and every page ("col-md-4", "row")."""
    kind = None
    for name in _CAMEL.sub("-", f"{names} {ident}").split():
        token = _token_kind(name)
        if token == "strong" or (author_box and token == "author"):
            return "strong"
        if token == "weak" or (token == "wrapper" and kind is None):
            kind = token
    return kind


@lru_cache(maxsize=8192)
def _token_kind(name: str) -> str | None:
    """What one class or id word says."""
    if _STATE.match(name):
        return None
    if _STRONG.search(name):
        return "strong"
    if _WEAK.search(name) and not _CONTENT.search(name):
        return "wrapper" if _WRAPPER.search(name) else "weak"
    return "author" if _AUTHOR_BOX.search(name) else None


def _holds_prose(el: etree._Element, length: int, linked: int) -> bool:
    """Paragraphs of unlinked text, not one long caption."""
    if length < WRAPPER_KEEP_CHARS or linked > WRAPPER_KEEP_LINK_SHARE * length:
        return False
    paragraphs = 0
    for p in el.iter("p"):
        paragraphs += len("".join(p.itertext()).strip()) >= 80
        if paragraphs >= 2:
            return True
    return False


def _holds_table(figure: etree._Element) -> bool:
    """A figure is an image and its caption, except when it frames a data table."""
    return next(figure.iter("table"), None) is not None


def clean_tree(root: etree._Element) -> etree._Element:
    """Drop scripts, furniture and hidden blocks in place; returns the same root."""
    for el in list(root.iter(*_ALWAYS)):
        if el.getparent() is not None and not (el.tag == "figure" and _holds_table(el)):
            drop(el)
    body = root.find("body")
    scope = body if body is not None else root
    lengths, links = _text_lengths(scope)
    embeds = _embedded_posts(scope)
    total = max(lengths.get(scope, 0), 1)
    doomed: list[etree._Element] = []
    for el in scope.iter():
        if not isinstance(el.tag, str) or el is scope:
            continue
        if el.tag in _NEVER_FURNITURE or el.get("itemprop") == "articleBody":
            continue
        kind = "strong" if el.tag in _STRUCTURAL else furniture_kind(el, author_box=True)
        if kind is None:
            continue
        length = lengths.get(el, 0)
        if length > KEEP_SHARE * total:
            continue
        if kind == "wrapper" and _holds_prose(el, length, links.get(el, 0)):
            continue
        if el not in embeds or el.tag in ("nav", "footer", "aside"):
            doomed.append(el)
    doomed.extend(el for el in _teasers(scope, lengths, links) if el not in embeds)
    for el in doomed:
        # A doomed ancestor may already have taken this element out of the tree.
        if el.getparent() is not None:
            drop(el)
    return root
