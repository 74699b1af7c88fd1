"""Page metadata: title, authors, dates, canonical URL, section, tags, image, site, language.

Each field reads the most deliberate source first (JSON-LD, then OpenGraph and
other <meta>, then visible markup), because publishers fill those for search
engines and keep them accurate, while visible markup varies by template.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from .clean import is_furniture
from .dates import find_date, parse_date
from .text import clean_line

_ARTICLE_TYPES = re.compile(r"article|posting|report|blog|news", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+[-|–—:·•»/│ǀ⋆~]\s+|\s+::\s+|(?<=\w):\s+|(?<=[)\]]):\s+")
_PAGINATION_SUFFIX = re.compile(r"\s+(?:Halaman|Page|Seite|Página|Pagina)\s+(?:all|\d+)\s*$", re.IGNORECASE)
_DOMAIN_LIKE = re.compile(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}$", re.IGNORECASE)
# Host labels that say nothing about whose site it is.
_NOT_A_BRAND = frozenset("www m amp en id de fr es it news blog blogs web com co net org".split())
_TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_BYLINE_LABEL = re.compile(
    r"^\s*(?:by|oleh|penulis|reporter|written by|author|autor|par|von|por)\s*[:\-]?\s+",
    re.IGNORECASE,
)
_AUTHOR_CLASS = re.compile(r"(?:^|[\s_-])(?:author|byline|penulis|reporter|writer)(?:$|[\s_-])",
                           re.IGNORECASE)
# Publishers put their own name in author fields; those are not bylines.
_NOT_A_NAME = re.compile(
    r"https?://|@|\d{3,}|\.(?:com|co|id|net|org)\b|^pt\.?\s|"
    r"\b(?:media|cyber|news|redaksi|tim|team|staff|admin|editor|inc|ltd|corp)\b",
    re.IGNORECASE,
)
_DATE_CLASS = re.compile(r"date|time|tanggal|waktu|publish|posted|dateline", re.IGNORECASE)
MAX_BYLINE_SCAN = 20_000  # bylines sit near the top; a page this far down has none to find
_SECOND_LEVEL = frozenset("co com net org gov ac or go web sch edu mil ne gob nic my biz".split())


@dataclass
class Metadata:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    canonical: str | None = None
    site_name: str = ""
    language: str | None = None
    description: str = ""
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    json_ld: list[dict[str, Any]] = field(default_factory=list)


def registrable_domain(host: str) -> str:
    """example.co.id from news.example.co.id, without a public-suffix download."""
    host = (host or "").lower().strip(".").strip("[]")
    if _is_ip_address(host):
        return host  # an address has no registrable part
    if host.startswith("www."):
        host = host[4:]
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def site_name_from_domain(domain: str) -> str:
    return domain[:1].upper() + domain[1:] if domain else ""


def _meta(root: etree._Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content and key not in values:
            values[key] = content.strip()
    return values


def _json_ld(root: etree._Element) -> list[dict[str, Any]]:
    """All JSON-LD objects, @graph flattened, article-like types first."""
    objects: list[dict[str, Any]] = []
    for script in root.iter("script"):
        if "ld+json" not in (script.get("type") or ""):
            continue
        try:
            data = json.loads((script.text or "").strip().rstrip(";"), strict=False)
        except (ValueError, RecursionError):
            continue
        pending = data if isinstance(data, list) else [data]
        while pending and len(objects) < 200:
            item = pending.pop(0)
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                if isinstance(item.get("@graph"), list):
                    pending.extend(item["@graph"])
                objects.append(item)

    def article_first(obj: dict[str, Any]) -> int:
        kind = obj.get("@type")
        kinds = " ".join(kind) if isinstance(kind, list) else str(kind or "")
        return 0 if _ARTICLE_TYPES.search(kinds) else 1

    return sorted(objects, key=article_first)


def _first(objects: list[dict[str, Any]], key: str) -> object:
    for obj in objects:
        if obj.get(key):
            return obj[key]
    return None


def _names(value: object) -> list[str]:
    """Person names from a JSON-LD author value (string, object, list)."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items[:20]:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, list):
            name = name[0] if name else None
        if isinstance(name, str):
            names.extend(split_names(name))
    return names


def split_names(text: str) -> list[str]:
    text = _BYLINE_LABEL.sub("", clean_line(text))
    parts = re.split(r"\s*(?:,|;|&|\band\b|\bdan\b|\|)\s*", text)
    return [p for p in (clean_line(p) for p in parts) if p and not _NOT_A_NAME.search(p)]


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for value in values:
        key = value.casefold()
        if key not in seen and len(value) <= 80:
            seen.add(key)
            unique.append(value)
    return unique


def _text(el: etree._Element) -> str:
    return clean_line("".join(el.itertext()))


def _in_furniture(el: etree._Element) -> bool:
    """Inside comments, related stories and the like ("comment-author" is a commenter)."""
    for _, ancestor in zip(range(12), el.iterancestors(), strict=False):
        if is_furniture(ancestor):
            return True
    return is_furniture(el) and "author" not in el.get("class", "")


def _visible_authors(root: etree._Element) -> list[str]:
    names: list[str] = []
    for checked, el in enumerate(root.iter("a", "span", "div", "p", "address")):
        if checked > MAX_BYLINE_SCAN:
            break
        if el.get("rel") == "author" or el.get("itemprop") == "author" or _AUTHOR_CLASS.search(
            f"{el.get('class', '')} {el.get('id', '')}"
        ):
            text = _text(el)
            if 2 < len(text) <= 80 and not _in_furniture(el):
                names.extend(split_names(text))
        if len(names) >= 5:
            break
    if names:
        return names
    # Kompas-style credit blocks: a "Penulis"/"Reporter" label beside the name. Searching
    # the text nodes (not every element's full text) keeps this linear on huge pages.
    for node in root.xpath(
        "//body//text()[contains(., 'Penulis') or contains(., 'Reporter')]"
    )[:20]:
        holder = node.getparent()
        for block in (holder, holder.getparent() if holder is not None else None):
            if block is None:
                continue
            text = _text(block)
            match = re.match(r"^(?:Penulis|Reporter)\s*:?\s*(.{3,60})$", text) or re.match(
                r"^(.{3,60}?)\s*(?:Penulis|Reporter)$", text
            )
            if match:
                return split_names(match.group(1))
    return []


def _fold(text: str) -> str:
    return " ".join(text.translate(_TYPOGRAPHY).split()).casefold().strip(" .")


def _compact(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _brand_keys(site_name: str, domain: str, host: str) -> set[str]:
    """Compact forms of the names a site goes by: its name, its domain, its host labels
    ("mluk" of mluk.brandenburg.de, "thejakartapost" of thejakartapost.com)."""
    labels = [label for label in (host or domain).lower().split(".") if label not in _NOT_A_BRAND]
    # A "site name" as long as a headline is a misfilled field, not a name.
    name = site_name if len(site_name) <= 40 else ""
    keys = {_compact(name), _compact(domain), *(_compact(label) for label in labels[:-1])}
    if domain:
        keys.add(_compact(domain.split(".")[0]))
    return {key for key in keys if len(key) >= 3}


def _is_brand(part: str, keys: set[str]) -> bool:
    """A title part that names the site rather than the story."""
    part = part.strip()
    if not part or len(part) > 60:
        return False
    if _DOMAIN_LIKE.match(part):
        return True  # "Kompas.com", "gizmeo.eu": a site's address is never the headline
    compact = _compact(part)
    return len(compact) >= 2 and any(key in compact or compact in key for key in keys)


def clean_title(title: str, site_name: str, domain: str, headings: tuple[str, ...] = (),
                host: str = "") -> str:
    """The headline without the site name or pagination ("… Halaman all - Kompas.com",
    "BBC News | …", "… | Science | News").

    The page's own headings (<h1>, then <h2>) settle it when one of them is a
    separator-aligned piece of the title that is not the site's name; otherwise site
    names are cut from either end, recognised by the site name, the domain and host
    labels, or by looking like a domain themselves. A title that is nothing but the
    site's name ("Gormulus", a blog's every page) gives way to the first heading that
    is not the site's name either.
    """
    title = clean_line(title)
    keys = _brand_keys(site_name, domain, host)
    folded_headings = [_fold(_PAGINATION_SUFFIX.sub("", clean_line(h))) for h in headings]
    cuts = [(m.start(), m.end()) for m in _TITLE_SEPARATORS.finditer(title)]
    starts = [0] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(title)]
    for heading in folded_headings:
        for start in starts:
            for end in ends:
                piece = _PAGINATION_SUFFIX.sub("", title[start:end]).strip()
                whole = start == 0 and end == len(title)  # a heading may carry the suffix too
                if not whole and end > start and _fold(piece) == heading and not _is_brand(piece, keys):
                    return piece
    for _ in range(3):  # "Headline | Section | Site": a few pieces at most
        cuts = [(m.start(), m.end()) for m in _TITLE_SEPARATORS.finditer(title)]
        if not cuts:
            break
        (first_start, first_end), (last_start, last_end) = cuts[0], cuts[-1]
        if _is_brand(title[last_end:], keys):
            cut, title = title[last_end:], title[:last_start]
        elif _is_brand(title[:first_start], keys):
            cut, title = title[:first_start], title[first_end:]
        else:
            break
        if _DOMAIN_LIKE.match(cut.strip()):
            # "… - Jakarta Globe | jakartaglobe.id": the address names the brand beside it.
            keys.add(_compact(cut.strip().removeprefix("www.").split(".")[0]))
    title = _PAGINATION_SUFFIX.sub("", title).strip()
    if not title or _is_brand(title, keys):
        for heading in headings:
            heading = clean_line(heading)
            if len(heading.split()) >= 2 and not _is_brand(heading, keys):
                return _PAGINATION_SUFFIX.sub("", heading).strip()
    return title


def _headings(root: etree._Element) -> tuple[str, ...]:
    """The page's first few <h1>, then <h2>, texts: where a page prints its headline."""
    found: list[str] = []
    for tag in ("h1", "h2"):
        for checked, el in enumerate(root.iter(tag)):
            if checked >= 5:
                break
            text = _text(el)
            if text and len(text) <= 300:
                found.append(text)
    return tuple(found)


def extract_metadata(root: etree._Element, url: str) -> Metadata:
    """Everything but the body, read before cleaning (cleaning drops <head> and <script>).

    Each field has a step of its own below, trying its sources in order: JSON-LD, meta tags,
    then what the page shows."""
    meta = _meta(root)
    ld = _json_ld(root)
    host = urlsplit(url).hostname or ""
    site_name = _site_name(meta, ld)
    return Metadata(
        title=_title(root, meta, ld, site_name, host),
        authors=_authors(root, meta, ld),
        published=_published(root, meta, ld),
        updated=_updated(meta, ld),
        canonical=_canonical(root, meta, url),
        site_name=site_name,
        language=_language(root, meta, ld),
        description=clean_line(meta.get("description") or meta.get("og:description")
                               or meta.get("twitter:description") or ""),
        section=_section(meta, ld),
        tags=_tags(root, meta, ld),
        image=_image(meta, ld, url),
        json_ld=ld,
    )


def _site_name(meta: dict[str, str], ld: list[dict[str, Any]]) -> str:
    publishers = [o["publisher"] for o in ld if isinstance(o.get("publisher"), dict)]
    return clean_line(
        meta.get("og:site_name")
        or str(_first(publishers, "name") or "")
        or meta.get("application-name", "")
    )


def _canonical(root: etree._Element, meta: dict[str, str], url: str) -> str | None:
    """<link rel=canonical>, else og:url; absolute."""
    for link in root.iter("link"):
        href = link.get("href")
        if "canonical" in (link.get("rel") or "").lower().split() and href:
            return urljoin(url, href.strip())
    return urljoin(url, meta["og:url"]) if meta.get("og:url") else None


def _title(root: etree._Element, meta: dict[str, str], ld: list[dict[str, Any]],
           site_name: str, host: str) -> str:
    """The headline as the page's metadata (else its first heading) gives it, without the
    site's name (clean_title)."""
    headline = _first(ld, "headline")
    title_el = root.find(".//title")
    raw_title = (
        meta.get("og:title")
        or (headline if isinstance(headline, str) else "")
        or meta.get("twitter:title")
        or (_text(title_el) if title_el is not None else "")
    )
    headings = _headings(root)
    return clean_title(raw_title or (headings[0] if headings else ""), site_name,
                       registrable_domain(host), headings=headings, host=host)


_AUTHOR_META = ("author", "article:author", "dc.creator", "byl", "parsely-author", "sailthru.author")


def _authors(root: etree._Element, meta: dict[str, str], ld: list[dict[str, Any]]) -> list[str]:
    """JSON-LD's authors, else the first author meta tag that names someone, else a byline."""
    authors = _names(_first(ld, "author"))
    if not authors:
        for key in _AUTHOR_META:
            if meta.get(key):
                authors = split_names(meta[key])
                if authors:
                    break
    if not authors:
        authors = _visible_authors(root)
    return _dedupe(authors)[:10]


_PUBLISHED_META = ("article:published_time", "og:published_time", "datepublished", "pubdate",
                   "publishdate", "publish-date", "date", "dc.date", "dc.date.issued",
                   "sailthru.date", "parsely-pub-date", "content_publishdate")


def _published(root: etree._Element, meta: dict[str, str], ld: list[dict[str, Any]]) -> datetime | None:
    """The first date that parses: JSON-LD, the meta tags in order, <time>, a visible date."""
    published = _first(ld, "datePublished") or _first(ld, "dateCreated")
    found = parse_date(published if isinstance(published, str) else None)
    for key in _PUBLISHED_META:
        if found is None and meta.get(key):
            found = parse_date(meta[key])
    if found is None:
        for el in root.iter("time"):
            found = parse_date(el.get("datetime") or _text(el))
            if found:
                break
    return found if found is not None else visible_date(root)


def _updated(meta: dict[str, str], ld: list[dict[str, Any]]) -> datetime | None:
    modified = _first(ld, "dateModified")
    return parse_date(modified if isinstance(modified, str) else None) or parse_date(
        meta.get("article:modified_time") or meta.get("og:updated_time")
    )


def _section(meta: dict[str, str], ld: list[dict[str, Any]]) -> str | None:
    section = _first(ld, "articleSection")
    if isinstance(section, list):
        section = section[0] if section else None
    return clean_line(str(section or meta.get("article:section") or "")) or None


def _tags(root: etree._Element, meta: dict[str, str], ld: list[dict[str, Any]]) -> list[str]:
    """article:tag meta tags, then JSON-LD's keywords, else the keywords meta tags."""
    keywords = _first(ld, "keywords")
    tags = [meta[k] for k in ("article:tag",) if meta.get(k)]
    for el in root.iter("meta"):
        content = el.get("content")
        if el.get("property") == "article:tag" and content:
            tags.append(content)
    if isinstance(keywords, list):
        tags.extend(str(k) for k in keywords)
    elif isinstance(keywords, str):
        tags.extend(keywords.split(","))
    elif meta.get("keywords") or meta.get("news_keywords"):
        tags.extend((meta.get("news_keywords") or meta["keywords"]).split(","))
    return _dedupe([clean_line(t) for t in tags if clean_line(t)])[:30]


def _image(meta: dict[str, str], ld: list[dict[str, Any]], url: str) -> str | None:
    image: object = meta.get("og:image") or meta.get("twitter:image")  # JSON-LD's may be anything
    if not image:
        ld_image = _first(ld, "image")
        if isinstance(ld_image, list):
            ld_image = ld_image[0] if ld_image else None
        image = ld_image.get("url") if isinstance(ld_image, dict) else ld_image
    return urljoin(url, image) if isinstance(image, str) and image else None


def _language(root: etree._Element, meta: dict[str, str], ld: list[dict[str, Any]]) -> str | None:
    language = (
        root.get("lang") or root.get("xml:lang") or meta.get("content-language")
        or meta.get("og:locale") or meta.get("language") or _first(ld, "inLanguage")
    )
    return normalise_language(language if isinstance(language, str) else None)


def normalise_language(code: str | None) -> str | None:
    """'id', 'en'… from 'id-ID', 'en_US', 'in' (the old code for Indonesian)."""
    if not code:
        return None
    base = re.split(r"[-_]", code.strip().lower())[0]
    base = {"in": "id", "ind": "id", "eng": "en"}.get(base, base)
    return base if re.fullmatch(r"[a-z]{2,3}", base) else None


def visible_date(root: etree._Element) -> datetime | None:
    """A dateline printed on the page ("Kompas.com - 21/11/2020, 20:00 WIB") in an element
    named like a date; read before cleaning, which removes article headers."""
    body = root.find("body")
    if body is None:
        return None
    for checked, el in enumerate(body.iter()):
        if checked > MAX_BYLINE_SCAN:
            break
        if not isinstance(el.tag, str):
            continue
        if el.tag == "time" or _DATE_CLASS.search(f"{el.get('class', '')} {el.get('id', '')}"):
            moment = find_date(clean_line("".join(el.itertext()))[:300])
            if moment:
                return moment
    return None
