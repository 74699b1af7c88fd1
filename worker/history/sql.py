"""The reading side both history homes share: the same SQL, two dialects.

Subclasses say how to run a statement (`_rows`), how a day is computed from a unix
time, and how the word index is queried; everything else is written once here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ..models import Article, Match
from .base import AlertRef, AlertRow, History, TermKey, alerts_json, encode_body, matches_json, published_ts

# A story's alert row is the first one carrying its alert id: a republication folded
# into that alert later carries the same id and is not counted, or listed, again.
FIRST_OF_ITS_ALERT = ("NOT EXISTS (SELECT 1 FROM history_alerts b "
                      "WHERE b.alert_id = a.alert_id AND b.at < a.at)")
CHUNK = 500  # ids per IN (…) list (SQLite caps the number of parameters)
# history_articles' columns but the word index, in the order article_values gives them.
ARTICLE_COLUMNS = ("article_id", "seen_at", "published", "source_id", "language", "title", "url",
                   "body", "matches", "alerts")
INSERT_ALERT = "INSERT INTO history_alerts (alert_id, article_id, topic_id, channel_id, at) VALUES "


def article_values(article: Article, matches: Sequence[Match], alerts: Sequence[AlertRef],
                   at: float) -> tuple[Any, ...]:
    return (article.id, at, published_ts(article), article.source.id,
            article.language, article.title, article.url, encode_body(article),
            matches_json(matches), alerts_json(alerts))


def alert_values(article: Article, alerts: Sequence[AlertRef], at: float) -> list[tuple[str, str, str, str, float]]:
    return [(alert_id, article.id, topic_id, channel_id, at) for topic_id, channel_id, alert_id in alerts]


def any_term_query(terms: Sequence[TermKey], quote: str, prefix: str, all_of: str,
                   any_of: str) -> str:
    """A full-text query for "any of the terms, each as all of its words, the last one a
    prefix when the term is": `quote` wraps a word ({} in it), `prefix` marks one.

    Normalised words are letters, digits and marks only: no quoting can be broken."""
    clauses = []
    for words, is_prefix in terms:
        quoted = [quote.format(w) for w in words]
        if is_prefix:
            quoted[-1] += prefix
        clauses.append(quoted[0] if len(quoted) == 1 else "(" + all_of.join(quoted) + ")")
    return any_of.join(clauses)


class SQLHistory(History):
    DAY = ""  # SQL turning the unix time {0} into 'YYYY-MM-DD' (UTC)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement written with '?' placeholders; its rows."""
        raise NotImplementedError

    def _words_clause(self, terms: Sequence[TermKey]) -> tuple[str, Any]:
        """SQL (one '?') selecting the articles whose words contain any of the terms."""
        raise NotImplementedError

    def _filter(self, since: float, any_of: Sequence[TermKey] | None,
                sources: Collection[str]) -> tuple[str, list[Any]]:
        where = ["seen_at >= ?"]
        params: list[Any] = [since]
        if any_of is not None:
            clause, value = self._words_clause(any_of)
            where.append(clause)
            params.append(value)
        if sources:
            where.append(f"source_id IN ({','.join('?' * len(sources))})")
            params.extend(sources)
        return " AND ".join(where), params

    def count(self, since: float | None = None) -> int:
        if since is None:
            return int(self._rows("SELECT COUNT(*) FROM history_articles")[0][0])
        return int(self._rows("SELECT COUNT(*) FROM history_articles WHERE seen_at >= ?", (since,))[0][0])

    def alerted_articles(self, topic_id: str, since: float) -> set[str]:
        rows = self._rows("SELECT DISTINCT article_id FROM history_alerts WHERE topic_id = ? "
                          "AND at >= ?", (topic_id, since))
        return {row[0] for row in rows}

    def describe(self, article_ids: Collection[str]) -> dict[str, tuple[str, float]]:
        ids = list(article_ids)
        found: dict[str, tuple[str, float]] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            rows = self._rows("SELECT article_id, title, seen_at FROM history_articles WHERE "
                              f"article_id IN ({','.join('?' * len(chunk))})", chunk)
            found.update((row[0], (row[1], row[2])) for row in rows)
        return found

    def alerts_per_day(self, topic_id: str, since: float) -> dict[str, int]:
        rows = self._rows(
            f"SELECT {self.DAY.format('a.at')} AS day, COUNT(DISTINCT a.article_id) "
            f"FROM history_alerts a WHERE a.topic_id = ? AND a.at >= ? AND {FIRST_OF_ITS_ALERT} "
            "GROUP BY day ORDER BY day", (topic_id, since))
        return dict(rows)

    def latest_alerts(self, topic_id: str, limit: int) -> list[AlertRow]:
        rows = self._rows(
            "SELECT a.alert_id, a.topic_id, a.channel_id, a.article_id, a.at, "
            "COALESCE(h.title, ''), COALESCE(h.url, ''), COALESCE(h.source_id, '') "
            "FROM history_alerts a LEFT JOIN history_articles h ON h.article_id = a.article_id "
            f"WHERE a.topic_id = ? AND {FIRST_OF_ITS_ALERT} "
            "ORDER BY a.at DESC, a.alert_id LIMIT ?", (topic_id, limit))
        return [AlertRow(*row) for row in rows]
