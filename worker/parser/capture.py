"""Text captures: a page copied as text or dumped by a text browser, read into an Article.

A capture has no markup to say where the article is, so the body is found from the
lines alone. A learned model reads each line: a logistic regression over features that
hold on any site (its length and ending, its mix of characters, whether it is known
furniture, where it sits, what the lines around it look like), then a second one over
the first one's verdicts on the neighbouring lines. Its weights live in capture_model.py,
written by benchmarks/train_capture_model.py from the tune halves of the benchmark
corpora (the check halves are only scored). The body is the best-scoring contiguous run
of lines by the model's log-odds (a maximum-sum segment), and known furniture lines
("Baca juga: …", "Login untuk …") inside it are dropped without breaking it.

The header fields sit just above the body, in the order every outlet prints them:
the headline, then a dateline and a byline (the dateline may also open the body,
"JAKARTA, KOMPAS.com - …"). The headline is the title-like line nearest above the
dateline, or above the body when there is none; a URL slug, when the URL is known,
outweighs position.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from operator import mul
from typing import TypedDict, Unpack
from urllib.parse import unquote, urlsplit

from .boilerplate import is_boilerplate_line
from .dates import find_date
from .document import CONTROL_CHARACTERS, MAX_INPUT_CHARS
from .metadata import Metadata, split_names
from .text import clean_line

# A line this long is prose whatever its ending; shorter ones need a sentence ending.
PROSE_CHARS = 100
SENTENCE_CHARS = 40
# The headline is looked for this many lines above the body (or dateline), no further.
HEADER_LINES = 30
# Share of words a headline has in common with the URL slug to be recognised by it.
SLUG_OVERLAP = 0.3
SUMMARY_CHARS = 300
# Hard-wrapped captures (lynx's default 80 columns) are unwrapped when most lines end near
# one width no wider than this.
MAX_WRAP_WIDTH = 100

# The characters a sentence (or a quoted one) ends with; a line's last one is checked,
# which unlike a regex anchored at the end does not scan the line.
_SENTENCE_END_CHARS = frozenset(".!?…:;\"'”’»)。！？")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"\w+")
_BYLINE = re.compile(
    r"^\s*(?:by|oleh|penulis|reporter|written by|author|autor|von|par|por|laporan wartawan"
    r"(?: [\w.]+)*?)\s*[:\-]?\s+(?P<names>.{3,80})$",
    re.IGNORECASE,
)
_NAME_AND_OUTLET = re.compile(r"^(?P<names>[^-–—|/]{3,60}?)\s+[-–—|/]\s+(?P<outlet>[\w.]{3,30})$")
_CREDIT_LABEL = re.compile(r"^(?:penulis|reporter|author|writer|kontributor)\s*:?$", re.IGNORECASE)
_SITE_DATELINE = re.compile(
    r"^(?P<site>[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)*\.(?:com|co\.id|id|net|org|co\.uk|news|tv))"
    r"\s*[-–—|]\s", re.IGNORECASE)


# The heading of a box of links inside or after an article ("Related articles", "DON'T
# MISS"): the heading and the link lines under it are dropped together.
_WIDGET_HEADING = re.compile(
    r"^\W*(?:related(?: articles?| stories| posts| content| coverage| news| links)?|"
    r"(?:more|top|latest|trending|popular|recommended|featured) (?:stories|news|articles|posts|"
    r"videos?|in [\w .'-]{1,40}|from [\w .'-]{1,40}|on [\w .'-]{1,40})|more [\w.'-]{1,20}|"
    r"trending(?: now| news)?|most (?:popular|read|viewed|shared)|don'?t miss|you may also like|"
    r"recommended(?: for you)?|read next|up next|explore further|editor'?s picks?|"
    r"berita terkait|artikel terkait|terpopuler|berita terkini|rekomendasi|pilihan editor|"
    r"terbaru|lainnya|mehr zum thema|das könnte sie auch interessieren|à lire aussi)\W*$",
    re.IGNORECASE,
)


_THREAD_HEADING = re.compile(
    r"^\W*(?:\d+\s+)?(?:comments?|kommentare?|komentar|responses?|replies|antworten|"
    r"commentaires?|comentarios?|reactions?|reaktionen|discussion|diskussion)(?:\s*\(\d+\))?\W*$|"
    r"^\W*(?:leave a (?:reply|comment)|post a comment|add a comment|join the discussion|"
    r"(?:\d+|ein|eine|one|no) (?:gedanken?|thoughts?|kommentare?|comments?|antworten|responses?)"
    r"(?: (?:zu|on|to|about) .{0,120})?|kommentar (?:schreiben|verfassen)|"
    r"schreibe einen kommentar|laisser un commentaire|deja un comentario)\W*$",
    re.IGNORECASE,
)


# A run of this many characters with no space and no letters of prose is data, not words.
_BLOB = re.compile(r"[A-Za-z0-9+/=_%&?.:-]{120,}")
# What a cookie, consent or data-protection notice talks about, in the languages we meet;
# two different terms in one line make it a notice (an article on privacy law names them
# too, but rarely two in one sentence and never as the whole of its paragraphs).
_NOTICE_TERM = re.compile(
    r"\b(?:cookies?|consent|privacy (?:policy|settings)|personal data|third[- ]part(?:y|ies)|"
    r"tracking|gdpr|datenschutz\w*|einwilligung\w*|personenbezogen\w*|drittanbieter\w*|dsgvo|"
    r"consentement|données personnelles|confidentialité|consenso|dati personali|"
    r"datos personales|consentimiento|privasi|data pribadi|persetujuan)\b",
    re.IGNORECASE,
)
_NOTICE_CLAIM = re.compile(
    r"\b(?:(?:we|this (?:web)?site|our (?:web)?site) (?:uses?|stores?) cookies|(?:accept|allow|manage) "
    r"(?:all )?cookies|verwendet cookies|nutzt cookies|utilise des cookies|usa (?:las )?cookies|"
    r"utilizza (?:i )?cookie|menggunakan cookie)",
    re.IGNORECASE,
)


def _is_notice(text: str) -> bool:
    """A cookie or consent notice ("This website uses cookies…", data-protection terms)."""
    if _NOTICE_CLAIM.search(text):
        return True
    return len({m.group(0).casefold()[:8] for m in _NOTICE_TERM.finditer(text)}) >= 2


@dataclass
class _Line:
    text: str
    boilerplate: bool
    prose: bool
    notice: bool = False


def mark_widgets(lines: list[_Line]) -> None:
    """Mark link boxes as furniture: a widget heading ("Related articles", "DON'T MISS")
    and the label lines under it, up to the next prose."""
    in_widget = False
    for line in lines:
        if line.prose:
            in_widget = False
        elif _WIDGET_HEADING.match(line.text):
            in_widget = True
        if in_widget:
            line.boilerplate = True


def mark_repeats(lines: list[_Line]) -> None:
    """A prose-length line printed again further down is a caption, a teaser or a pull
    quote shown twice, never new article text: its later copies are furniture."""
    # Only the later copies: the first may be the paragraph a pull quote repeats.
    seen: set[str] = set()
    for line in lines:
        if line.prose:
            if line.text in seen:
                line.prose, line.boilerplate = False, True
            seen.add(line.text)


def looks_like_html(text: str) -> bool:
    """Whether a document is markup (parse it as HTML) rather than a text capture."""
    head = text[:4096].lstrip("\ufeff \t\r\n").lower()
    if head.startswith(("<!doctype", "<html", "<?xml", "<head", "<body", "<!--")):
        return True
    # Markup somewhere near the top: any of the tags that every page carries.
    return bool(re.search(r"<(?:html|head|body|div|p|meta|title|article|script)[\s>/]", head))


def looks_like_markup(fragment: str) -> bool:
    """Whether feed content holds any markup (a tag or an entity) rather than plain text."""
    return bool(re.search(r"<[a-zA-Z/!][^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});", fragment[:100_000]))


def capture_lines(text: str) -> list[str]:
    """Non-empty lines of a capture, whitespace-normalised, hard wraps undone."""
    text = CONTROL_CHARACTERS.sub("", text[:MAX_INPUT_CHARS]).replace("\r\n", "\n").replace("\r", "\n")
    raw = text.split("\n")
    width = _wrap_width(raw)
    lines: list[str] = []
    joining = False
    for index, line in enumerate(raw):
        cleaned = clean_line(line)
        if not cleaned:
            joining = False
            continue
        if joining and lines:
            lines[-1] = f"{lines[-1]} {cleaned}"
        else:
            lines.append(cleaned)
        # Wrapped where the next word did not fit: the paragraph goes on below.
        following = raw[index + 1].split() if index + 1 < len(raw) else []
        joining = bool(width and following) and len(line.rstrip()) + 1 + len(following[0]) > width
    return lines


def _wrap_width(raw: list[str]) -> int:
    """The column width a capture was hard-wrapped at, or 0 when it was not."""
    lengths = [len(line.rstrip()) for line in raw if line.strip()]
    if len(lengths) < 8 or max(lengths) > MAX_WRAP_WIDTH:
        return 0
    width = max(lengths)
    near = sum(1 for n in lengths if n >= width - 15)
    return width if near >= 0.4 * len(lengths) else 0


def _classify(text: str) -> _Line:
    boilerplate = is_boilerplate_line(text) or not _LETTER.search(text)
    # A teaser cut short ("… as Hurri...") ends like a sentence but is a link.
    prose = len(text) >= PROSE_CHARS or (
        len(text) >= SENTENCE_CHARS and text[-1] in _SENTENCE_END_CHARS
        and not text.endswith(("...", "…"))
    )
    # Encoded data (base64, a long URL) and consent notices are long but not the article:
    # they are labels, which split them from the prose around them.
    notice = prose and _is_notice(text)
    if prose and (notice or _BLOB.search(text)):
        prose = False
    return _Line(text, boilerplate, prose and not boilerplate, notice)


def _opening_header(text: str) -> bool:
    """A dateline or byline line: short, a date or a "By …" and little else, so that a
    body sentence that mentions a date is not one."""
    if len(text) > 100:
        return False
    return bool(_BYLINE.match(text)) or (
        len(_WORD.findall(text)) <= 14 and find_date(text) is not None)


_NUMERIC_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b(?:19|20)\d\d\b.{0,40}\b\d{1,2}:\d\d\b|"
                           r"\b\d{1,2}:\d\d\b.{0,40}\b(?:19|20)\d\d\b")


def _dated(text: str) -> bool:
    """A short line that prints a date (a dateline, a comment's or a teaser's date)."""
    return len(text) <= 60 and (bool(_NUMERIC_DATE.search(text)) or find_date(text) is not None)


@dataclass
class Capture:
    """What a capture says, before assembly into an Article."""

    metadata: Metadata
    paragraphs: list[str]


def prepared_lines(text: str) -> list[_Line]:
    """The lines of a capture, classified, with repeats and link boxes marked as furniture."""
    lines = [_classify(line) for line in capture_lines(text)]
    mark_repeats(lines)
    mark_widgets(lines)
    return lines


# The body is the run of lines whose log-odds, shifted by SPAN_OFFSET, sum highest. A line
# counts for no less than ODDS_FLOOR, and known furniture (dropped anyway) for
# FURNITURE_ODDS: a box of links inside the article costs what a doubtful line costs,
# not what the model's certainty says. The run then starts and ends on lines the model
# takes for article text on their own (log-odds above EDGE_ODDS), or on paragraphs (of
# EDGE_CHARS or more): the shift that lets it bridge a subheading must not let it take in
# the headline and byline above.
# All chosen by cross-validation inside the tune half (benchmarks/train_capture_model.py).
SPAN_OFFSET = 1.0
ODDS_FLOOR = -3.0
FURNITURE_ODDS = -1.0
EDGE_ODDS = 0.25
EDGE_CHARS = 120


class SpanDecision(TypedDict, total=False):
    """learned_span's decision settings a caller may override (the model trainer's grid)."""

    offset: float
    floor: float
    furniture_odds: float
    edge: float
    edge_chars: float


# A line model and its context model: weights by feature name, bias, each (capture_model.py).
CaptureModel = tuple[dict[str, float], float, dict[str, float], float]


def learned_span(odds: list[float], lines: list[_Line], offset: float = SPAN_OFFSET,
                 floor: float = ODDS_FLOOR, furniture_odds: float = FURNITURE_ODDS,
                 edge: float = EDGE_ODDS, edge_chars: float = EDGE_CHARS, trim: bool = True
                 ) -> tuple[int, int]:
    """[start, end) of the maximum-sum run of shifted log-odds (empty when none is
    positive); with `trim`, cut to confident lines at both ends and below a header."""
    best, best_start, best_end = 0.0, 0, 0
    running, start = 0.0, 0
    for index, value in enumerate(odds):
        value = (furniture_odds if lines[index].boilerplate else value if value > floor else floor) + offset
        if running + value <= 0:
            running, start = 0.0, index + 1
            continue
        running += value
        if running > best:
            best, best_start, best_end = running, start, index + 1
    start, end = best_start, best_end
    if not trim:
        return start, end

    def doubtful(index: int) -> bool:
        line = lines[index]
        return line.boilerplate or (odds[index] <= edge and len(line.text) < edge_chars)

    # A dateline or byline opening the run is the article's header: its fields, not its text.
    while start < end and (doubtful(start) or _opening_header(lines[start].text)):
        start += 1
    while end > start and doubtful(end - 1):
        end -= 1
    return start, end


def learned_body(lines: list[_Line], odds: list[float],
                 **decision: Unpack[SpanDecision]) -> tuple[int, list[str]]:
    """Where the body starts and its paragraphs: the best run by the model's log-odds,
    without the known furniture inside it."""
    start, end = learned_span(odds, lines, **decision)
    return start, [line.text for line in lines[start:end] if not line.boilerplate]


def read_capture(text: str, url: str = "", model: CaptureModel | None = None) -> Capture:
    """Body paragraphs and header fields of a text capture."""
    lines = prepared_lines(text)
    start, paragraphs = learned_body(lines, line_log_odds(lines, url, model))
    meta = Metadata()
    header = [line.text for line in lines[max(0, start - HEADER_LINES):start]]
    dateline_at, meta.published = _dateline(header)
    if meta.published is None and paragraphs:
        meta.published = find_date(paragraphs[0][:200])  # "JAKARTA, 21/11/2020 - …"
    title_at = _headline(header, dateline_at, url)
    meta.title = header[title_at] if title_at is not None else ""
    meta.site_name = _site_name(header)
    meta.description = _lead(paragraphs)
    outlet = _outlet_key(url, meta.site_name)
    meta.authors = _byline(header[(title_at or 0) + 1 if title_at is not None else 0:], outlet)
    return Capture(meta, paragraphs)


def _lead(paragraphs: list[str]) -> str:
    """A capture has no description tag: the summary is the opening paragraph, clipped."""
    lead = paragraphs[0] if paragraphs else ""
    if len(lead) <= SUMMARY_CHARS:
        return lead
    return lead[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"


def _dateline(header: list[str]) -> tuple[int | None, datetime | None]:
    """The line printing the publication date nearest below the headline: the first
    short dated line of the header (later ones are captions and widgets)."""
    for index, text in enumerate(header):
        if len(text) <= 120:
            moment = find_date(text)
            if moment is not None:
                return index, moment
    return None, None


def _title_like(text: str) -> bool:
    words = len(_WORD.findall(text))
    if not 3 <= words <= 40 or len(text) > 250 or is_boilerplate_line(text):
        return False
    if text.endswith((".", ",", ";", ":")) and not text.endswith("..."):
        return False  # a sentence or a label, not a headline
    return find_date(text) is None and not _BYLINE.match(text)


def _slug_words(url: str) -> set[str]:
    parts = urlsplit(url)
    # Only a web address names the article; a file name says nothing about the headline.
    path = unquote(parts.path) if parts.scheme in ("http", "https") else ""
    return {w.casefold() for w in re.findall(r"[^\W\d_]{3,}", path.replace("_", " "))}


def _slug_overlap(text: str, slug: set[str]) -> float:
    words = {w.casefold() for w in re.findall(r"[^\W\d_]{3,}", text)}
    return len(words & slug) / max(len(words | slug), 1)


def _headline(header: list[str], dateline_at: int | None, url: str) -> int | None:
    """Index of the headline in the header lines, or None."""
    limit = dateline_at if dateline_at is not None else len(header)
    candidates = [i for i in range(len(header)) if _title_like(header[i])]
    if not candidates:
        return None
    slug = _slug_words(url)
    if len(slug) >= 3:
        best = max(candidates, key=lambda i: _slug_overlap(header[i], slug))
        if _slug_overlap(header[best], slug) >= SLUG_OVERLAP:
            return best
    above = [i for i in candidates if i < limit]
    if dateline_at is not None and above and limit - above[-1] <= 3:
        return above[-1]
    # No dateline beside a candidate: the nearest substantial line above the body.
    substantial = [i for i in candidates if len(_WORD.findall(header[i])) >= 4]
    return (substantial or candidates)[-1]


def _outlet_key(url: str, site_name: str) -> str:
    """The outlet's name in compact form ("detik" of news.detik.com), to recognise it."""
    from .metadata import registrable_domain

    domain = registrable_domain(urlsplit(url).hostname or "") if url else ""
    name = domain.split(".")[0] if domain else site_name.split(".")[0]
    return re.sub(r"\W+", "", name.casefold())


def _byline(header: list[str], outlet: str = "") -> list[str]:
    """Author names from "By …"/"Oleh …" lines, a Kompas-style name + "Penulis" label,
    or "Name - outlet" ("Bagus Kurniawan - detiknews")."""
    for index, text in enumerate(header):
        credit = _NAME_AND_OUTLET.match(text)
        if credit and len(outlet) >= 3 and outlet in credit.group("outlet").casefold() and _name_like(
                credit.group("names")):
            return split_names(credit.group("names"))
        match = _BYLINE.match(text)
        if match and len(text) <= 100:
            names = split_names(_without_date(match.group("names")))
            if names:
                return names
        if _CREDIT_LABEL.match(text):
            for neighbour in (index - 1, index + 1):
                if 0 <= neighbour < len(header) and _name_like(header[neighbour]):
                    return split_names(header[neighbour])
    return []


# Where a byline's date begins: a separator, then a day, a month or a number.
_DATE_TAIL = re.compile(
    r"(?:\s*[,|•·]\s*|\s+(?:on|am|le|el|pada|updated|published)\s+)(?=\d|(?:mon|tue|wed|thu|fri|sat|"
    r"sun|jan|feb|m[aä]r|apr|ma[iy]|jun|jul|aug|agu|sep|o[ck]t|nov|de[cz]|des|senin|selasa|rabu|"
    r"kamis|jumat|sabtu|minggu|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)\w*\b)",
    re.IGNORECASE)


def _without_date(names: str) -> str:
    """"Jane Whitfield on Monday, November 18th, 2019" names Jane Whitfield: a byline
    that also prints the date ends where the date begins."""
    match = _DATE_TAIL.search(names)
    if match and find_date(names[match.start():]) is not None:
        return names[:match.start()]
    return names


def _name_like(text: str) -> bool:
    words = text.split()
    return 1 <= len(words) <= 8 and len(text) <= 80 and all(
        w[:1].isupper() or w in ("dan", "and", "&", ",") for w in words
    ) and find_date(text) is None


def _site_name(header: list[str]) -> str:
    """The outlet named in a dateline ("Kompas.com - 21/11/2020, 20:00 WIB")."""
    for text in header:
        match = _SITE_DATELINE.match(text)
        if match and find_date(text):
            return match.group("site")
    return ""


# ------------------------------------------------------------------ the learned line model
# Each line is described by features that do not depend on any page set (its length and
# ending, its mix of characters, whether it is known furniture, where it sits and what
# lies around it); a logistic regression trained on the tune halves of the benchmark
# corpora (benchmarks/train_capture_model.py writes its weights into capture_model.py)
# turns them into the log-odds that the line is article text.

_LENGTH_BINS = (20, 40, 80, 150, 300)
# Characters that divide the items of a menu, a breadcrumb or a credit line; spaced
# dashes and slashes do the same.
_SEPARATOR_CHARS = frozenset("|•·›»«")
_SPACED_SEPARATORS = (" - ", " – ", " — ", " / ")
_LIST_MARK = re.compile(r"^(?:[-*•·▪►>]|\d{1,3}[.)])\s")
# Character shares are read from the start of a line: enough to tell prose from a label.
_SAMPLE_CHARS = 200
# What a line says about itself. The first _NEIGHBOUR_COUNT also describe the lines two
# above and two below it.
OWN_FEATURES = (
    "length", "sentence", "furniture", "title_case", "dated", "prose",
    "words", "ellipsis", "colon", "letters", "digits", "upper", "punctuation", "commas",
    "widget_heading", "thread_heading", "notice", "blob", "byline", "separators", "address",
    "list_mark", *(f"under_{bound}" for bound in _LENGTH_BINS),
)
_NEIGHBOUR_COUNT = 6
_NEIGHBOURS = (-2, -1, 1, 2)
# Where a line sits in the capture and what lies around it.
PLACE_FEATURES = (
    "position", "position_sq", "prose_above", "density", "run", "repeated", "later_copy",
    "after_headline", "headline_distance", "is_headline", "after_dateline", "dateline_distance",
    "in_thread", "after_thread",
)
FEATURE_NAMES = OWN_FEATURES + PLACE_FEATURES + tuple(
    name for offset in _NEIGHBOURS
    for name in (f"n{offset}_exists", *(f"n{offset}_{own}" for own in OWN_FEATURES[:_NEIGHBOUR_COUNT])))
_ABSENT = [0.0] * (_NEIGHBOUR_COUNT + 1)
# Lines around a line whose prose makes its neighbourhood.
_DENSITY_LINES = 5
_THREAD_REACH = 12


def _own_features(line: _Line) -> list[float]:
    """OWN_FEATURES of a line, in that order."""
    text = line.text
    size = len(text)
    count = text.count(" ") + 1  # words, near enough: lines are whitespace-normalised
    sample = text[:_SAMPLE_CHARS]
    sample_words = sample.split()
    letters = sum(map(str.isalpha, sample))
    digits = sum(map(str.isdigit, sample))
    spaces = len(sample_words) - 1
    ellipsis = text.endswith(("...", "…"))
    return [
        math.log1p(size) / 6,
        float(not ellipsis and text[-1] in _SENTENCE_END_CHARS),
        float(line.boilerplate),
        sum(1 for w in sample_words if w[:1].isupper()) / (len(sample_words) or 1),
        # A date needs digits; most lines have none and need not be searched.
        float(size <= 60 and digits > 0 and _dated(text)),
        float(line.prose),
        math.log1p(count) / 5,
        float(ellipsis),
        float(text.endswith(":")),
        letters / len(sample),
        digits / len(sample),
        sum(map(str.isupper, sample)) / (letters or 1),
        (len(sample) - letters - digits - spaces) / len(sample),
        min(text.count(",") / count * 5, 1.0),
        # Headings are short: longer lines need not be matched.
        float(size <= 80 and bool(_WIDGET_HEADING.match(text))),
        float(size <= 200 and bool(_THREAD_HEADING.match(text))),
        float(line.notice),
        float(size >= 120 and bool(_BLOB.search(text))),
        float(size <= 100 and bool(_BYLINE.match(text))),
        float(not _SEPARATOR_CHARS.isdisjoint(text) or any(m in text for m in _SPACED_SEPARATORS)),
        float("://" in text or "www." in text or "@" in text),
        float(bool(_LIST_MARK.match(text))),
        *(float(size < bound) for bound in _LENGTH_BINS),
    ]


def line_features(lines: list[_Line], url: str = "") -> list[list[float]]:
    """FEATURE_NAMES of every line of a capture, in that order (see the section comment)."""
    # Menus and link lists print the same lines twice (header and footer): described once.
    described: dict[tuple[str, bool, bool], list[float]] = {}
    own = []
    for line in lines:
        key = (line.text, line.boilerplate, line.prose)
        if key not in described:
            described[key] = _own_features(line)
        own.append(described[key])
    count = len(lines)
    texts = Counter(line.text for line in lines)
    slug = _slug_words(url)
    headline = next((i for i, line in enumerate(lines) if len(slug) >= 3 and len(line.text) <= 250
                     and _slug_overlap(line.text, slug) >= SLUG_OVERLAP), None)
    dated, words = OWN_FEATURES.index("dated"), OWN_FEATURES.index("words")
    dateline = next((i for i, f in enumerate(own) if f[dated] and f[words] > 0), None)
    thread = OWN_FEATURES.index("thread_heading")
    prose_chars = [len(line.text) if line.prose else 0 for line in lines]
    total = sum(prose_chars) or 1
    before = list(accumulate(prose_chars, initial=0))
    # Runs of long lines: the length of the run each line belongs to.
    run_length = [0] * count
    index = 0
    while index < count:
        end = index
        while end < count and len(lines[end].text) >= SENTENCE_CHARS:
            end += 1
        for inner in range(index, end):
            run_length[inner] = end - index
        index = max(end, index + 1)
    neighbours = [[1.0, *features[:_NEIGHBOUR_COUNT]] for features in own]
    thread_at = -10**9
    last = max(count - 1, 1)
    out: list[list[float]] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if own[i][thread]:
            thread_at = i
        position = i / last
        window = before[min(count, i + _DENSITY_LINES + 1)] - before[max(0, i - _DENSITY_LINES)]
        row = own[i] + [
            position,
            position * position,
            before[i] / total,
            math.log1p(window) / 8,
            math.log1p(run_length[i]) / 3,
            float(texts[line.text] > 1),
            float(line.text in seen),
            float(headline is not None and i > headline),
            math.log1p(i - headline) / 5 if headline is not None and i > headline else 0.0,
            float(headline == i),
            float(dateline is not None and i > dateline),
            math.log1p(i - dateline) / 5 if dateline is not None and i > dateline else 0.0,
            float(i - thread_at <= _THREAD_REACH),
            float(thread_at >= 0),
        ]
        for offset in _NEIGHBOURS:
            j = i + offset
            row += neighbours[j] if 0 <= j < count else _ABSENT
        seen.add(line.text)
        out.append(row)
    return out


def line_log_odds(lines: list[_Line], url: str = "", model: CaptureModel | None = None) -> list[float]:
    """Log-odds that each line is article text: the line model, then the context model
    that reads the line model's verdicts on the lines around each line (a paragraph
    among paragraphs is text, a lone long line among labels often a teaser)."""
    from . import capture_model

    weights, bias, context_weights, context_bias = model or (
        capture_model.WEIGHTS, capture_model.BIAS, capture_model.CONTEXT_WEIGHTS,
        capture_model.CONTEXT_BIAS)
    first = _apply_all(weights, bias, FEATURE_NAMES, line_features(lines, url))
    if not context_weights:
        return first
    return _apply_all(context_weights, context_bias, CONTEXT_FEATURES, context_features(lines, first))


def _apply_all(weights: dict[str, float], bias: float, names: tuple[str, ...],
               rows: list[list[float]]) -> list[float]:
    """bias + weights · row for every row of features (in the order of `names`)."""
    vector = [weights.get(name, 0.0) for name in names]
    return [bias + sum(map(mul, vector, row)) for row in rows]


_CONTEXT_REACH = 3
_CONTEXT_WINDOW = 5
# The line model's verdicts are scaled to about the range of the other features.
_ODDS_SCALE = 5.0


CONTEXT_FEATURES = ("odds", "window_mean", "in_run", "run_distance", "furniture", "prose",
                    *(f"odds{offset:+d}" for offset in range(-_CONTEXT_REACH, _CONTEXT_REACH + 1) if offset))


def context_features(lines: list[_Line], odds: list[float]) -> list[list[float]]:
    """CONTEXT_FEATURES of every line: the line model's log-odds of the line and of the
    lines around it, and whether the line lies in the best run by those log-odds."""
    count = len(lines)
    # The plain best run, not trimmed: where the line model alone would put the article.
    start, end = learned_span(odds, lines, offset=1.0, floor=-1e9, furniture_odds=-1.0, trim=False)
    totals = list(accumulate(odds, initial=0.0))
    scaled = [value / _ODDS_SCALE for value in odds]
    out = []
    for i, line in enumerate(lines):
        low, high = max(0, i - _CONTEXT_WINDOW), min(count, i + _CONTEXT_WINDOW + 1)
        row = [
            scaled[i],
            (totals[high] - totals[low]) / (high - low) / _ODDS_SCALE,
            float(start <= i < end),
            math.log1p(start - i if i < start else max(0, i - end + 1)) / 3,
            float(line.boilerplate),
            float(line.prose),
        ]
        row += (scaled[j] if 0 <= j < count else -1.0
                for j in range(i - _CONTEXT_REACH, i + _CONTEXT_REACH + 1) if j != i)
        out.append(row)
    return out
