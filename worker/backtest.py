"""Backtest and search: run a topic (or a draft query) over the stored history.

The same compiled matcher as live matching (`compile_topics(...).match`), with the
topic's languages, sources and min_score, so what a backtest lists is what would
have been sent. The history's word index only narrows which stored articles are
read: a query can match only an article containing one of its positive terms
(`parse_query` refuses any other), and the index holds the matcher's own
normalised words, so nothing the matcher would fire on is ever skipped.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from .history import History
from .history.base import StoredArticle, TermKey, can_use_index, iso_day
from .models import Config, Match, Topic, iso_utc
from .terminal import clip, day_bars, table
from .topics import QueryError, compile_topics, parse_query
from .topics.index import TopicIndex, _positive_terms

DEFAULT_SINCE = 7 * 86400.0
DRAFT_ID = "draft"


class HitRecord(TypedDict):
    """A hit in `backtest --json` and `search --json`."""

    article_id: str
    url: str
    title: str
    published: str | None
    seen: str | None
    source: str
    score: float
    terms: list[str]


@dataclass(frozen=True, slots=True)
class Hit:
    """A stored article the query matches now."""

    stored: StoredArticle
    match: Match

    def to_dict(self) -> HitRecord:
        article = self.stored.article
        return {
            "article_id": article.id, "url": article.url, "title": article.title,
            "published": iso_utc(article.published), "seen": iso_utc(_utc(self.stored.seen_at)),
            "source": article.source.id, "score": self.match.score,
            "terms": list(self.match.terms),
        }


@dataclass
class Report:
    """What a backtest or search found."""

    topic_id: str | None
    query: str
    since: float  # unix time the window starts
    stored: int  # articles stored in the window
    read: int  # of those, read through the matcher (the rest cannot match)
    hits: list[Hit] = field(default_factory=list)  # newest first
    new: list[str] = field(default_factory=list)  # would alert now, did not then
    gone: list[str] = field(default_factory=list)  # alerted then, would not now
    titles: dict[str, str] = field(default_factory=dict)  # article id -> title, for gone
    seconds: float = 0.0

    def per_day(self) -> dict[str, int]:
        """Matches per UTC day of the window (days without one included, as 0)."""
        counts = Counter(iso_day(hit.stored.seen_at) for hit in self.hits)
        first = _utc(self.since).date()
        last = max([datetime.now(UTC).date()] + [_utc(h.stored.seen_at).date() for h in self.hits])
        days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
        return {day: counts.get(day, 0) for day in days}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query": self.query, "since": iso_utc(_utc(self.since)), "stored": self.stored,
            "read": self.read, "matches": [hit.to_dict() for hit in self.hits],
            "per_day": self.per_day(),
        }
        if self.topic_id is not None:
            data = {"topic": self.topic_id, **data, "new": self.new, "gone": self.gone}
        return data


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


# --------------------------------------------------------------------------- building the query


def draft_topic(config: Config, topic_id: str | None, query: str | None) -> Topic:
    """The topic to run: a configured one, or a draft query (with the configured topic's
    filters when `topic_id` is given). Raises QueryError for a draft that does not parse."""
    base = config.topic(topic_id) if topic_id else Topic(id=DRAFT_ID, name="draft query", query="")
    if query is None:
        return base
    used = parse_query(query, config.terms).lists  # raises QueryError with the position
    return replace(base, query=query, term_lists=tuple((name, config.terms[name]) for name in used))


def _narrowing(index: TopicIndex) -> list[TermKey] | None:
    """The terms at least one of which an article needs to match; None when some term
    cannot be looked up in the word index (then every article is read)."""
    compiled = index.topics[0]
    terms = list(dict.fromkeys((t.words, t.prefix) for t in _positive_terms(compiled.query.root)))
    return terms if can_use_index(terms) else None


def _run(history: History, topic: Topic, since: float) -> tuple[list[Hit], int]:
    index = compile_topics([topic])
    hits: list[Hit] = []
    read = 0
    for stored in history.articles(since, _narrowing(index), topic.sources):
        read += 1
        for match in index.match(stored.article):
            hits.append(Hit(stored, match))
    return hits, read


# --------------------------------------------------------------------------- the two commands


def backtest(history: History, config: Config, topic_id: str | None, query: str | None,
             since: float) -> Report:
    """Run a topic or draft over what was stored since `since`, and compare with what
    the topic really alerted on then (when a configured topic is named)."""
    started = time.monotonic()
    topic = draft_topic(config, topic_id, query)
    hits, read = _run(history, topic, since)
    report = Report(topic_id, topic.query, since, history.count(since), read, hits)
    if topic_id is not None:
        now_ids = [hit.stored.article.id for hit in hits]
        then_ids = history.alerted_articles(topic_id, since)
        report.new = [i for i in now_ids if i not in then_ids]
        described = history.describe(then_ids - set(now_ids))  # id -> (title, seen at)
        report.gone = sorted(described, key=lambda i: -described[i][1])  # newest first
        report.titles = {i: title for i, (title, _) in described.items()}
    report.seconds = time.monotonic() - started
    return report


def search(history: History, config: Config, query: str, since: float) -> Report:
    """Stored articles matching a query (the topic language, @lists included), newest first."""
    started = time.monotonic()
    topic = draft_topic(config, None, query)
    hits, read = _run(history, topic, since)
    report = Report(None, query, since, history.count(since), read, hits)
    report.seconds = time.monotonic() - started
    return report


# --------------------------------------------------------------------------- terminal output


def hit_rows(hits: list[Hit]) -> list[list[object]]:
    return [[_utc(h.stored.seen_at).strftime("%Y-%m-%d %H:%M"), h.stored.article.source.id,
             f"{h.match.score:g}", clip(h.stored.article.title, 70),
             clip(", ".join(h.match.terms), 40)] for h in hits]


HIT_HEADER = ["time (UTC)", "source", "score", "title", "terms"]


def render(report: Report, window: str) -> str:
    what = f"topic {report.topic_id}" if report.topic_id else "query"
    lines = [f"{what}, last {window}: {len(report.hits)} of {report.stored} stored articles "
             f"would alert ({report.read} read by the matcher, {report.seconds:.2f} s)"]
    if report.hits:
        lines += ["", *table(HIT_HEADER, hit_rows(report.hits))]
    lines += ["", "per day (UTC):"] + ["  " + line for line in day_bars(report.per_day())]
    if report.topic_id is not None:
        lines += ["", f"against what {report.topic_id} alerted on then: {len(report.new)} new "
                  f"(would alert now, did not then), {len(report.gone)} gone (alerted then, "
                  "would not now)"]
        by_id = {h.stored.article.id: h for h in report.hits}
        for article_id in report.new:
            lines.append(f"  new   {clip(by_id[article_id].stored.article.title, 90)}")
        for article_id in report.gone:
            lines.append(f"  gone  {clip(report.titles.get(article_id, article_id), 90)}")
    return "\n".join(lines)


def render_search(report: Report, window: str) -> str:
    lines = [f"{len(report.hits)} of {report.stored} articles stored in the last {window} match "
             f"({report.seconds:.2f} s)"]
    if report.hits:
        lines += ["", *table(HIT_HEADER, hit_rows(report.hits))]
    return "\n".join(lines)


__all__ = ["DEFAULT_SINCE", "Hit", "QueryError", "Report", "backtest", "day_bars", "draft_topic",
           "render", "render_search", "search", "table"]
