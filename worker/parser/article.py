"""Assembly: the stages wired together into one Article, for pages and feed entries."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TypeGuard
from urllib.parse import urlsplit

from ..dedup import article_id, public_url, short_hash
from ..models import Article, FeedEntry, Source, SourceInfo
from .body import filter_text, fragment_paragraphs
from .capture import looks_like_markup, read_capture
from .dates import find_date
from .document import MAX_INPUT_CHARS, parse_tree, to_text
from .errors import ParseError
from .language import detect_language
from .main_text import main_text
from .metadata import (
    Metadata,
    extract_metadata,
    registrable_domain,
    site_name_from_domain,
)
from .text import clean_line, join_paragraphs, split_paragraphs


def parse_html(html: str | bytes, url: str, *, content_type: str | None = None) -> Article:
    """Normalise one fetched page into an Article.

    `content_type` is the HTTP Content-Type header (its charset is a decoding hint).
    Raises ParseError only when the input is not a document at all.
    """
    text = to_text(html, content_type)
    try:
        return _parse_text(text, url)
    except ParseError:
        raise
    except Exception as exc:  # the contract: hostile input gives ParseError only
        raise ParseError(f"could not parse {url}: {type(exc).__name__}: {exc}") from exc


def _parse_text(text: str, url: str) -> Article:
    root = parse_tree(text)
    if root is None:
        return _assemble(Metadata(), [], url)
    meta = extract_metadata(root, url)
    paragraphs = main_text(root, text, url, meta.json_ld, meta.title or "", meta.description or "")
    if meta.published is None:
        # A dateline opening the text itself ("JAKARTA, 21/11/2020 - …").
        meta.published = find_date(paragraphs[0][:200]) if paragraphs else None
    return _assemble(meta, filter_text(paragraphs), url)


def _usable_canonical(candidate: str | None) -> TypeGuard[str]:
    # Another site's canonical is honoured too: a syndicated copy naming the original
    # is the same article, which is exactly what deduplication needs to know.
    return bool(candidate) and urlsplit(candidate).scheme in ("http", "https") and bool(
        urlsplit(candidate).hostname)


def _assemble(meta: Metadata, paragraphs: list[str], url: str) -> Article:
    # The address the publisher gave (or the one we read), never the folded identity key:
    # the id below folds http/https, www and the like so that deduplication still agrees.
    chosen = meta.canonical if _usable_canonical(meta.canonical) else url
    canonical = public_url(chosen)
    domain = registrable_domain(urlsplit(url).hostname or "")
    body = join_paragraphs(paragraphs)
    return Article(
        id=article_id(canonical),
        url=url,
        canonical_url=canonical,
        title=meta.title,
        authors=tuple(meta.authors),
        published=meta.published,
        updated=meta.updated,
        source=SourceInfo(id="", name=meta.site_name or site_name_from_domain(domain),
                          domain=domain),
        language=_language(meta.language, body),
        summary=meta.description,
        text=body,
        section=meta.section,
        tags=tuple(meta.tags),
        image=meta.image,
    )


def _language(declared: str | None, body: str) -> str | None:
    """The declared language unless the text clearly says otherwise: templates often
    keep a default lang="en" on pages written in Indonesian."""
    detected = detect_language(body)
    return detected if detected and detected != declared else declared


def _fragment_text(fragment: str) -> str:
    """Clean body text of feed HTML, through the same block rules as pages."""
    try:
        return join_paragraphs(filter_text(fragment_paragraphs(fragment)))
    except Exception:  # noqa: BLE001 - a hostile feed item degrades to no text, never a crash
        return ""


def _entry_text(content: str, url: str) -> str:
    """Body text of feed content: HTML through the page rules, plain text (no markup at
    all) through the text-capture reader, so clutter lines are dropped either way."""
    if looks_like_markup(content):
        return _fragment_text(content)
    try:
        body = read_capture(content, url).paragraphs
    except Exception:  # noqa: BLE001 - a hostile feed item degrades to no text, never a crash
        body = []
    # Too short to show the shape of an article (one or two lines): keep it as given.
    return join_paragraphs(filter_text(body or split_paragraphs(content[:MAX_INPUT_CHARS])))


def _strip_html(fragment: str) -> str:
    if "<" not in fragment:
        return clean_line(fragment)
    return _fragment_text(fragment) or clean_line(re.sub(r"<[^>]*>", " ", fragment))


def parse_entry(entry: FeedEntry, source: Source, page: Article | None = None) -> Article:
    """One Article from a feed entry, and the parsed page when it was fetched.

    The page wins for body text, authors and canonical URL; the feed fills what the
    page lacks. Feed content goes through the same body cleaning as pages.
    """
    feed_text = _entry_text(entry.content, entry.url) if entry.content else ""
    page_text = page.text if page else ""
    text = page_text if len(page_text) >= len(feed_text) else feed_text
    url = entry.url or (page.url if page else "")
    canonical = page.canonical_url if page and page.canonical_url else public_url(url)
    domain = registrable_domain(urlsplit(url).hostname or "") or (
        page.source.domain if page else ""
    )
    name = source.name or (page.source.name if page else "") or site_name_from_domain(domain)
    summary = _strip_html(entry.summary) if entry.summary else (page.summary if page else "")
    title = clean_line(_strip_html(entry.title)) if entry.title else (page.title if page else "")
    article = Article(
        id=article_id(canonical),
        url=url,
        canonical_url=canonical,
        title=title or (page.title if page else ""),
        authors=(page.authors if page and page.authors else tuple(entry.authors)),
        published=(page.published if page and page.published else entry.published),
        updated=(page.updated if page and page.updated else entry.updated),
        source=SourceInfo(id=source.id, name=name, domain=domain),
        language=(page.language if page and page.language else None) or entry.language
        or source.language or detect_language(text),
        summary=summary,
        text=text,
        section=page.section if page else None,
        tags=tuple(dict.fromkeys((page.tags if page else ()) + tuple(entry.tags))),
        image=(page.image if page and page.image else entry.image),
    )
    return article


def parse_text(text: str | bytes, url: str = "") -> Article:
    """Normalise a text capture (a page copied as text, a text-browser dump, a plain-text
    feed entry) into the same Article a page gives: headline, dateline, byline, body.

    Raises ParseError only when the input is not text at all (binary data).
    """
    text = to_text(text)
    try:
        capture = read_capture(text, url)
        article = _assemble(capture.metadata, filter_text(capture.paragraphs), url)
    except Exception as exc:  # the contract: hostile input gives ParseError only
        raise ParseError(f"could not read the text capture {url}: {type(exc).__name__}: {exc}") from exc
    if not urlsplit(url).hostname:
        # No web address (a file, or nothing): the outlet is the one its dateline names.
        domain = capture.metadata.site_name.lower() if "." in capture.metadata.site_name else ""
        article = replace(article, source=replace(article.source, domain=domain))
    if not url:
        # Nothing to name it by: the id comes from what it says, so that two different
        # captures never share one and the same capture read twice keeps its id.
        article = replace(article, id=short_hash("capture", article.title, article.text))
    return article
