"""The values that flow through the pipeline.

Every stage takes and returns these; they are immutable so a stage can never
change what another stage already saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypedDict, TypeVar


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z, or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- config


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    backoff: float = 30.0  # seconds before the first retry
    max_backoff: float = 3600.0
    max_age: float = 24 * 3600.0  # give up (state failed) after this long


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    url: str
    kind: str = "feed"  # feed | page | sitemap
    every: float = 300.0  # seconds between polls
    full_text: bool = False
    language: str | None = None
    name: str | None = None
    selector: str | None = None  # kind: page, CSS selector of article links
    # Adaptive polling (worker/pace.py); None = the global setting / the derived default.
    adaptive: bool | None = None
    min_every: float | None = None
    max_every: float | None = None
    websub: bool = True  # subscribe to the hub the feed advertises (when public_url is set)


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: str
    query: str
    channels: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    min_score: float = 0.0
    # The named term lists (config `terms:`) its query uses as @name, flattened:
    # ((name, (term, term, …)), …). A topic carries them so it compiles on its own.
    term_lists: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    type: str  # email | webhook | apprise
    options: dict[str, Any] = field(default_factory=dict)  # type-specific keys (to, url, secret…)
    mode: str = "instant"  # instant | digest
    every: float | None = None  # digest period in seconds
    at: str | None = None  # digest: daily "HH:MM" in options["timezone"] (default UTC)
    retry: RetryPolicy = RetryPolicy()


@dataclass(frozen=True, slots=True)
class Settings:
    redis_url: str = ""
    state_path: str = ".newswatch/state.db"
    allow_private_networks: bool = False
    redelivery_after: float = 120.0  # a delivery (and, see poll_claim, a poll) left by a dead worker
    user_agent: str = "newswatch/0.1 (+https://github.com/newswatch/newswatch)"
    fetch_timeout: float = 20.0
    max_body_bytes: int = 10 * 1024 * 1024
    dedup_window: float = 7 * 24 * 3600.0
    source_down_after: float = 3600.0  # a source failing this long raises an ops alert
    ops_channels: tuple[str, ...] = ()  # where source down/recovered alerts go
    tick_every: float = 5.0
    cycle_log_every: float = 60.0  # one `task=cycle` line per period with what was done
    per_host_interval: float = 1.0  # politeness: minimum time between requests to one host
    per_host_concurrency: int = 2
    # A source's first poll (a new source, or a fresh install) fetches article pages only for
    # its newest `backlog_pages` entries published within `backlog_window`; the rest of its
    # backlog is matched on the feed's own text. Later polls fetch a page for every new entry.
    backlog_window: float = 24 * 3600.0
    backlog_pages: int = 3
    page_fetch_concurrency: int = 4  # a poll's article pages fetched at once (per-host limits hold)
    metrics_port: int = 0  # Prometheus /metrics on this port; 0 turns the endpoint off
    metrics_address: str = "127.0.0.1"
    near_duplicate_hold: float = 0.0  # wait this long before an instant alert so that
    # republications of the same wire story can be named in it (also_reported_by)
    history: float = 30 * 24 * 3600.0  # keep every parsed article this long; 0 = off
    database_url: str = ""  # PostgreSQL for history (distributed mode)
    web_password: str = ""  # HTTP Basic (user newswatch) for `newswatch web` off loopback
    adaptive: bool = True  # poll each source at its publishing pace (worker/pace.py)
    min_every: float = 0.0  # bounds of the adaptive interval for every source that sets
    max_every: float = 0.0  # none; 0 = derived from the source's every (every/5, every×6)
    # WebSub (worker/websub/): the address the hubs reach `newswatch web` at; empty = off.
    public_url: str = ""
    websub_poll_every: float = 0.0  # safety-net polling while a hub pushes; 0 = max_every
    websub_lease: float = 10 * 86400.0  # the lease asked of hubs (they may grant another)
    websub_max_body: int = 2 * 1024 * 1024  # a bigger push is refused (413)

    @property
    def poll_claim(self) -> float:
        """How long a poll handed to a worker holds its source (and the entries it is
        working on) before a scheduler hands it out again: a poll whose worker died is
        run again after this, like a delivery after `redelivery_after`."""
        return max(self.redelivery_after, 10.0)


_T = TypeVar("_T")


@dataclass(frozen=True)  # no slots: the id indexes below are cached on the instance
class Config:
    sources: tuple[Source, ...]
    topics: tuple[Topic, ...]
    channels: tuple[Channel, ...]
    settings: Settings
    # Named term lists (`terms:`), flattened: name -> its terms. Draft queries
    # (`newswatch backtest --query`, `search`) may use them as @name too.
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    # Lookups by id run on every poll and delivery: dicts, not scans of 10,000 sources.
    # A missing id raises StopIteration, as callers expect of a failed lookup.
    @cached_property
    def _sources_by_id(self) -> dict[str, Source]:
        return {s.id: s for s in self.sources}

    @cached_property
    def _topics_by_id(self) -> dict[str, Topic]:
        return {t.id: t for t in self.topics}

    @cached_property
    def _channels_by_id(self) -> dict[str, Channel]:
        return {c.id: c for c in self.channels}

    def source(self, source_id: str) -> Source:
        return _lookup(self._sources_by_id, "source", source_id)

    def channel(self, channel_id: str) -> Channel:
        return _lookup(self._channels_by_id, "channel", channel_id)

    def topic(self, topic_id: str) -> Topic:
        return _lookup(self._topics_by_id, "topic", topic_id)


def _lookup(index: Mapping[str, _T], kind: str, ident: str) -> _T:
    try:
        return index[ident]
    except KeyError:
        raise StopIteration(f"no {kind} {ident!r}") from None


# --------------------------------------------------------------------------- content


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: str
    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item as a source listed it, before the shared parser normalises it."""

    url: str
    title: str = ""
    summary: str = ""  # HTML or text as the feed gave it
    content: str = ""  # full HTML body when the feed carries it
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    guid: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    url: str
    canonical_url: str
    title: str
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    source: SourceInfo = SourceInfo("", "", "")
    language: str | None = None
    summary: str = ""
    text: str = ""
    section: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Built by hand, not dataclasses.asdict: this runs for every alert, and asdict
        # deep-copies every field recursively.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["source"] = {"id": self.source.id, "name": self.source.name, "domain": self.source.domain}
        data["authors"] = list(self.authors)
        data["tags"] = list(self.tags)
        data["published"] = iso_utc(self.published)
        data["updated"] = iso_utc(self.updated)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        values = dict(data)
        values["authors"] = tuple(values.get("authors") or ())
        values["tags"] = tuple(values.get("tags") or ())
        values["published"] = parse_iso(values.get("published"))
        values["updated"] = parse_iso(values.get("updated"))
        values["source"] = SourceInfo(**values.get("source") or {"id": "", "name": "", "domain": ""})
        return cls(**values)


class MatchRecord(TypedDict):
    """A match as JSON: in the webhook payload and in the ledger's alert record."""

    score: float
    terms: list[str]
    snippets: list[str]


@dataclass(frozen=True, slots=True)
class Match:
    topic_id: str
    score: float
    terms: tuple[str, ...]  # distinct terms as written in the article
    snippets: tuple[str, ...] = ()

    def to_dict(self) -> MatchRecord:
        return {"score": self.score, "terms": list(self.terms), "snippets": list(self.snippets)}


@dataclass(frozen=True, slots=True)
class Alert:
    """One article matched by one topic, bound for one channel."""

    id: str  # stable: the same on every retry
    topic: Topic
    article: Article
    match: Match
    channel_id: str
    also_reported_by: tuple[str, ...] = ()
    detected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # topic.match for articles; source.down / source.recovered for ops alerts about a
    # source's health (their "article" describes the source and its last error).
    event: str = "topic.match"

    def payload(self) -> dict[str, Any]:
        """The webhook body of SPEC (also what templates render)."""
        article = self.article.to_dict()
        return {
            "event": self.event,
            "version": 1,
            "id": self.id,
            "topic": {"id": self.topic.id, "name": self.topic.name},
            "article": {
                key: article[key]
                for key in (
                    "id", "url", "canonical_url", "title", "authors", "published",
                    "source", "language", "summary", "text",
                )
            },
            "match": self.match.to_dict(),
            "also_reported_by": list(self.also_reported_by),
            "detected_at": iso_utc(self.detected_at),
        }


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    detail: str = ""  # e.g. "http=200" or the error, never a secret
    permanent: bool = False  # retrying cannot help (4xx other than 408/429)
    retry_after: float | None = None  # seconds, when the receiver said so
