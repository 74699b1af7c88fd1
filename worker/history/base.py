"""The history contract: every parsed article kept for a while, searchable by its words.

History is a second port, not a second pipeline: the poll writes each parsed
article once (with its matches and alert ids), and `backtest`, `search` and the
status page read it back. Two homes with one contract and one contract test
suite: the SQLite state file (embedded, FTS5) and PostgreSQL (distributed).

The word index only narrows the search: it holds the article's words exactly as
the topic matcher normalises them (`worker.topics.normalize`), so it can answer
"which articles contain one of these words or prefixes" without ever
disagreeing with the matcher. Whether an article matches, with what score, is
always decided by the real compiled matcher on the stored text.
"""

from __future__ import annotations

import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypedDict, TypeVar

from ..errors import NewswatchError
from ..models import Article, Match
from ..topics.index import article_text
from ..topics.normalize import scan_words

# A word longer than this is not indexed (URLs glued into text, base64…); a query term
# with such a word cannot use the index and reads every article instead.
MAX_INDEXED_WORD = 100
# Bodies shorter than this are stored as they are: compression would not pay.
COMPRESS_FROM = 400
_PLAIN, _ZLIB = b"j", b"z"

_Decoded = TypeVar("_Decoded")

TermKey = tuple[tuple[str, ...], bool]  # (normalised words, last word is a prefix)
AlertRef = tuple[str, str, str]  # (topic id, channel id, alert id)


class HistoryUnavailable(NewswatchError, RuntimeError):
    """The history store cannot be reached (or is off); the message says why."""


class StoredMatch(TypedDict):
    """A match as history keeps it with its article (what matches_json writes)."""

    topic: str
    score: float
    terms: list[str]


@dataclass(frozen=True, slots=True)
class StoredArticle:
    article: Article
    seen_at: float  # unix time newswatch stored (and would have alerted on) it
    matches: list[StoredMatch] = field(default_factory=list)  # at the time it was seen
    alerts: dict[str, list[str]] = field(default_factory=dict)  # topic id -> alert ids


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert as history remembers it, with its article's headline."""

    alert_id: str
    topic_id: str
    channel_id: str
    article_id: str
    at: float
    title: str
    url: str
    source_id: str


# --------------------------------------------------------------------------- encoding


def encode_body(article: Article) -> bytes:
    """The article as JSON, zlib-compressed when that makes it smaller (a codec byte first)."""
    raw = json.dumps(article.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    if len(raw) >= COMPRESS_FROM:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw) * 0.9:
            return _ZLIB + packed
    return _PLAIN + raw


def decode_body(blob: bytes | memoryview) -> Article:
    data = bytes(blob)
    raw = zlib.decompress(data[1:]) if data[:1] == _ZLIB else data[1:]
    return Article.from_dict(json.loads(raw))


def indexed_words(article: Article, scanned: Sequence[str] | None = None) -> list[str]:
    """The distinct normalised words the matcher would see in this article (`scanned`:
    the matcher's own words of it, when the caller has them: tokenising twice costs)."""
    if scanned is None:
        title, body = article_text(article)
        scanned = scan_words(f"{title}\n\n{body}")[0]
    words = set(scanned)
    return sorted(w for w in words if len(w) <= MAX_INDEXED_WORD)


def can_use_index(terms: Sequence[TermKey]) -> bool:
    return all(len(w) <= MAX_INDEXED_WORD for words, _ in terms for w in words)


def matches_json(matches: Sequence[Match]) -> str:
    kept: list[StoredMatch] = [{"topic": m.topic_id, "score": m.score, "terms": list(m.terms)}
                               for m in matches]
    return json.dumps(kept, ensure_ascii=False)


def alerts_json(alerts: Sequence[AlertRef]) -> str:
    by_topic: dict[str, list[str]] = {}
    for topic_id, _channel, alert_id in alerts:
        by_topic.setdefault(topic_id, []).append(alert_id)
    return json.dumps(by_topic)


def published_ts(article: Article) -> float | None:
    return article.published.timestamp() if article.published else None


def _loads(value: str | bytes | _Decoded) -> _Decoded:
    """A JSON column: text from SQLite, already decoded by psycopg from PostgreSQL's jsonb."""
    if isinstance(value, str | bytes):
        decoded: _Decoded = json.loads(value)
        return decoded
    return value


def stored(body: bytes | memoryview, seen_at: float, matches: str | list[StoredMatch],
           alerts: str | dict[str, list[str]]) -> StoredArticle:
    return StoredArticle(decode_body(body), seen_at, _loads(matches), _loads(alerts))


# --------------------------------------------------------------------------- contract


class HistoryItem(NamedTuple):
    """What `record` takes: an article, its matches, its alerts, when it was seen, and
    (optionally) the matcher's words of it, so the word index need not tokenise again."""

    article: Article
    matches: Sequence[Match]
    alerts: Sequence[AlertRef]  # (topic id, channel id, alert id)
    at: float
    words: Sequence[str] | None = None


class History(ABC):
    """Where parsed articles are kept for `settings.history` seconds."""

    # Errors meaning "the history store is unreachable or failing".
    unavailable: tuple[type[Exception], ...] = ()

    def record(self, article: Article, matches: Sequence[Match], alerts: Sequence[AlertRef],
               at: float) -> None:
        """Keep one parsed article (matched or not) with its matches and alert ids.
        Recording the same article again replaces it (a poll run again after a crash)."""
        self.record_many([HistoryItem(article, matches, alerts, at)])

    @abstractmethod
    def record_many(self, items: Sequence[HistoryItem]) -> None:
        """`record` for several articles (a poll's) in one transaction: one commit, not one each."""

    @abstractmethod
    def count(self, since: float | None = None) -> int:
        """Articles stored (seen at or after `since`)."""

    @abstractmethod
    def articles(self, since: float, any_of: Sequence[TermKey] | None = None,
                 sources: Collection[str] = ()) -> Iterator[StoredArticle]:
        """Articles seen at or after `since`, newest first.

        With `any_of`, only those containing at least one of these terms somewhere
        (a superset of what a query needing one of them can match); `sources` limits
        to those source ids."""

    @abstractmethod
    def alerted_articles(self, topic_id: str, since: float) -> set[str]:
        """Ids of the articles seen since `since` that had an alert for the topic
        (their own, or the earlier story's they were folded into)."""

    @abstractmethod
    def describe(self, article_ids: Collection[str]) -> dict[str, tuple[str, float]]:
        """article id -> (title, seen at) for those of these ids that are stored."""

    @abstractmethod
    def alerts_per_day(self, topic_id: str, since: float) -> dict[str, int]:
        """{"YYYY-MM-DD": n} (UTC): alerted stories per day, each story once whatever the
        number of channels, republications not counted again."""

    @abstractmethod
    def latest_alerts(self, topic_id: str, limit: int) -> list[AlertRow]:
        """The newest alerts of a topic (one row per channel), newest first."""

    @abstractmethod
    def expire(self, before: float, limit: int) -> int:
        """Delete up to `limit` articles seen before `before` (and their alert rows);
        returns how many were deleted."""

    def close(self) -> None:  # noqa: B027 - optional for implementations
        pass


def iso_day(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


__all__ = ["AlertRow", "History", "HistoryUnavailable", "StoredArticle", "TermKey"]
