"""Turn alerts into subjects and text/HTML bodies with Jinja2 templates.

Article content is hostile input: it only ever enters templates as data
(never as template source), HTML templates autoescape it, links must be
http(s), and anything bound for a header goes through `header_value`.
The environment is sandboxed because channel templates come from config
files that people copy around.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import (
    ChoiceLoader,
    DictLoader,
    FileSystemLoader,
    TemplateError,
    pass_eval_context,
    select_autoescape,
)
from jinja2.nodes import EvalContext
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from worker.models import Alert, Topic

from ..errors import NewswatchError
from .templates import DEFAULT_TEMPLATES

SUBJECT_LIMIT = 200

# C0/C1 controls, line/paragraph separators and bidi overrides: none belongs in
# a header (CR/LF would start a new header; bidi marks can disguise a subject).
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
# In bodies, keep newlines and tabs; drop the other controls.
_BODY_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def header_value(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """A single safe header line: no control characters, collapsed spaces, capped length."""
    text = " ".join(_HEADER_UNSAFE.sub(" ", str(text)).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def body_text(text: str | None) -> str:
    """Body text without control characters, with Unix newlines."""
    if not text:
        return ""
    return _BODY_UNSAFE.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n"))


def safe_link(url: str | None) -> str:
    """The URL if it is http(s), else "" (a `javascript:` href must never reach an email)."""
    if not url:
        return ""
    url = header_value(url, limit=2048)
    return url if re.match(r"(?i)^https?://", url) else ""


def zone_of(name: str | None) -> ZoneInfo:
    """The IANA zone named by a channel's `timezone` option; UTC when unset or unknown."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def published_times(moment: datetime | None, zone: ZoneInfo) -> dict[str, str | None]:
    """The UTC time, the time in the channel's zone, and a line showing both."""
    if moment is None:
        return {"utc": None, "local": None, "zone": zone.key, "text": "time unknown"}
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if zone.key == "UTC":
        return {"utc": utc, "local": None, "zone": zone.key, "text": utc}
    local = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return {"utc": utc, "local": local, "zone": zone.key, "text": f"{local} ({zone.key}) · {utc}"}


def _term_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    words = sorted({term for term in terms if term and term.strip()}, key=len, reverse=True)
    if not words:
        return None
    # Whole words only, longest first, so "Armenian" wins over "Armenia".
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@pass_eval_context
def highlight(context: EvalContext, text: str, terms: Sequence[str]) -> str | Markup:
    """Wrap matched terms in <mark> in HTML templates; leave plain text as it is."""
    if not context.autoescape:
        return text
    pattern = _term_pattern(terms)
    if pattern is None:
        return escape(text)
    pieces: list[str] = []
    position = 0
    for found in pattern.finditer(text):
        pieces.append(str(escape(text[position : found.start()])))
        pieces.append(f"<mark>{escape(found.group(0))}</mark>")
        position = found.end()
    pieces.append(str(escape(text[position:])))
    return Markup("".join(pieces))


def alert_context(alert: Alert, zone: ZoneInfo) -> dict[str, Any]:
    """What a template sees for one alert: the webhook payload plus display helpers."""
    payload = alert.payload()
    article = payload["article"]
    for key in ("title", "summary", "text"):
        article[key] = body_text(article.get(key))
    article["title"] = " ".join(article["title"].split()) or "(untitled)"
    source = article.get("source") or {}
    snippets = [body_text(snippet).strip() for snippet in alert.match.snippets if snippet]
    if not snippets and article["summary"]:
        # No snippet from the matcher: the start of the summary still says what it is about.
        snippets = [article["summary"][:300].strip()]
    return {
        **payload,
        "article": article,
        # Short one-line values: the same cleaning as a header keeps them on their line.
        "terms": [header_value(term, limit=100) for term in alert.match.terms],
        "also_reported_by": [header_value(name, limit=100) for name in alert.also_reported_by],
        "snippets": snippets,
        "link": safe_link(article.get("canonical_url") or article.get("url")),
        "source_label": header_value(source.get("name") or source.get("domain") or source.get("id") or "?", limit=100),
        "published": published_times(alert.article.published, zone),
        "timezone": zone.key,
    }


def group_by_topic(alerts: Iterable[Alert]) -> list[tuple[Topic, list[Alert]]]:
    """Alerts grouped by topic, topics in order of first appearance, alerts newest first."""
    groups: dict[str, tuple[Topic, list[Alert]]] = {}
    seen: set[str] = set()
    for alert in alerts:
        if alert.id in seen:  # the same alert twice must not be shown twice
            continue
        seen.add(alert.id)
        groups.setdefault(alert.topic.id, (alert.topic, []))[1].append(alert)
    oldest = datetime.min.replace(tzinfo=UTC)

    def newest_first(alert: Alert) -> datetime:
        moment = alert.article.published or alert.detected_at or oldest
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return [(topic, sorted(items, key=newest_first, reverse=True)) for topic, items in groups.values()]


def digest_id(alerts: Iterable[Alert]) -> str:
    """A stable id for a digest: the same set of alerts always gives the same id."""
    joined = "\n".join(sorted({alert.id for alert in alerts}))
    return "digest-" + hashlib.sha256(joined.encode("utf-8")).hexdigest()[:32]


def digest_context(alerts: Sequence[Alert], zone: ZoneInfo) -> dict[str, Any]:
    groups = [
        {
            "topic": {"id": topic.id, "name": topic.name},
            "alerts": [alert_context(alert, zone) for alert in items],
        }
        for topic, items in group_by_topic(alerts)
    ]
    count = sum(len(group["alerts"]) for group in groups)
    return {"id": digest_id(alerts), "count": count, "groups": groups, "timezone": zone.key}


class RenderError(NewswatchError):
    """A channel template failed to render (syntax error, unsafe access…)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str  # already safe for a header
    text: str
    html: str


class Renderer:
    """Renders alerts and digests for one channel (its `timezone`, `subject`, `template`)."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        self.zone = zone_of(options.get("timezone"))
        loaders: list[Any] = [DictLoader(DEFAULT_TEMPLATES)]
        if options.get("template"):
            loaders.insert(0, FileSystemLoader(str(Path(str(options["template"])).expanduser())))
        self.environment = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.environment.filters["highlight"] = highlight
        self._subject_source = str(options["subject"]) if options.get("subject") else None

    def _render(self, name: str, context: dict[str, Any]) -> str:
        try:
            if name == "alert.subject.txt" and self._subject_source is not None:
                return self.environment.from_string(self._subject_source).render(context)
            return self.environment.get_template(name).render(context)
        except TemplateError as error:
            # A broken channel template fails the delivery with a message, not the task.
            raise RenderError(f"template error in {name}: {error.message or type(error).__name__}") from None

    def alert(self, alert: Alert) -> Rendered:
        """Subject, text and HTML of one alert. Raises RenderError for a broken template."""
        context = alert_context(alert, self.zone)
        return Rendered(
            subject=header_value(self._render("alert.subject.txt", context)),
            text=self._render("alert.txt", context),
            html=self._render("alert.html", context),
        )

    def digest(self, alerts: Sequence[Alert]) -> Rendered:
        """Subject, text and HTML of a digest. Raises RenderError for a broken template."""
        context = digest_context(alerts, self.zone)
        return Rendered(
            subject=header_value(self._render("digest.subject.txt", context)),
            text=self._render("digest.txt", context),
            html=self._render("digest.html", context),
        )
