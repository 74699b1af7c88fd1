"""History in PostgreSQL (distributed mode): a tsvector word index with GIN."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import psycopg

from ..models import Article, Match
from .base import (
    AlertRef,
    AlertRow,
    History,
    StoredArticle,
    TermKey,
    alerts_json,
    encode_body,
    indexed_words,
    matches_json,
    published_ts,
    stored,
)
from .migrations import migrate_postgres

CONNECT_TIMEOUT = 5  # seconds: an unreachable database must not hold a poll for long
_DAY = "to_char(to_timestamp({0}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
_FIRST_OF_ITS_ALERT = ("NOT EXISTS (SELECT 1 FROM history_alerts b "
                       "WHERE b.alert_id = a.alert_id AND b.at < a.at)")


def ts_query(terms: Sequence[TermKey]) -> str:
    """A tsquery literal: any of the terms, each as all of its words (the last a prefix).

    Lexemes are quoted verbatim; normalised words hold no quote or backslash."""
    clauses = []
    for words, prefix in terms:
        quoted = [f"'{w}'" for w in words]
        if prefix:
            quoted[-1] += ":*"
        clauses.append(quoted[0] if len(quoted) == 1 else "(" + " & ".join(quoted) + ")")
    return " | ".join(clauses)


class PostgresHistory(History):
    unavailable = (psycopg.OperationalError, psycopg.InterfaceError)

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        migrate_postgres(self._conn())

    def _conn(self) -> psycopg.Connection[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT, autocommit=True,
                                   application_name="newswatch")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ---------------------------------------------------------------- writing

    def record(self, article: Article, matches: Sequence[Match], alerts: Sequence[AlertRef],
               at: float) -> None:
        words = indexed_words(article)
        body = encode_body(article)
        conn = self._conn()
        with conn.transaction():
            conn.execute(
                "INSERT INTO history_articles (article_id, seen_at, published, source_id, "
                "language, title, url, body, words, matches, alerts) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, array_to_tsvector(%s::text[]), %s, %s) "
                "ON CONFLICT (article_id) DO UPDATE SET seen_at = EXCLUDED.seen_at, "
                "published = EXCLUDED.published, source_id = EXCLUDED.source_id, "
                "language = EXCLUDED.language, title = EXCLUDED.title, url = EXCLUDED.url, "
                "body = EXCLUDED.body, words = EXCLUDED.words, matches = EXCLUDED.matches, "
                "alerts = EXCLUDED.alerts",
                (article.id, at, published_ts(article), article.source.id, article.language,
                 article.title, article.url, body, words, matches_json(matches),
                 alerts_json(alerts)))
            conn.execute("DELETE FROM history_alerts WHERE article_id = %s", (article.id,))
            if alerts:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO history_alerts (alert_id, article_id, topic_id, channel_id, "
                        "at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        [(alert_id, article.id, topic_id, channel_id, at)
                         for topic_id, channel_id, alert_id in alerts])

    def expire(self, before: float, limit: int) -> int:
        conn = self._conn()
        with conn.transaction():
            # SKIP LOCKED: two schedulers expiring at once take different rows.
            rows = conn.execute(
                "DELETE FROM history_articles WHERE id IN (SELECT id FROM history_articles "
                "WHERE seen_at < %s ORDER BY seen_at LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING article_id", (before, limit)).fetchall()
            if rows:
                conn.execute("DELETE FROM history_alerts WHERE article_id = ANY(%s)",
                             ([row[0] for row in rows],))
        return len(rows)

    # ---------------------------------------------------------------- reading

    def count(self, since: float | None = None) -> int:
        if since is None:
            return self._conn().execute("SELECT COUNT(*) FROM history_articles").fetchone()[0]
        return self._conn().execute("SELECT COUNT(*) FROM history_articles WHERE seen_at >= %s",
                                    (since,)).fetchone()[0]

    def articles(self, since: float, any_of: Sequence[TermKey] | None = None,
                 sources: Collection[str] = ()) -> Iterator[StoredArticle]:
        where: list[str] = ["seen_at >= %s"]
        params: list[Any] = [since]
        if any_of is not None:
            if not any_of:
                return
            where.append("words @@ %s::tsquery")
            params.append(ts_query(any_of))
        if sources:
            where.append("source_id = ANY(%s)")
            params.append(list(sources))
        # A server-side cursor streams the rows: a broad query over 100,000 articles
        # never holds them all in memory.
        conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT,
                               application_name="newswatch-read")
        try:
            with conn.cursor(name="history_articles", binary=True) as cursor:
                cursor.itersize = 2000
                cursor.execute(
                    f"SELECT body, seen_at, matches, alerts FROM history_articles "
                    f"WHERE {' AND '.join(where)} ORDER BY seen_at DESC", params)
                for body, seen_at, matches, alerts in cursor:
                    yield stored(body, seen_at, matches, alerts)
        finally:
            conn.close()

    def alerted_articles(self, topic_id: str, since: float) -> set[str]:
        rows = self._conn().execute(
            "SELECT DISTINCT article_id FROM history_alerts WHERE topic_id = %s AND at >= %s",
            (topic_id, since))
        return {row[0] for row in rows}

    def describe(self, article_ids: Collection[str]) -> dict[str, tuple[str, float]]:
        if not article_ids:
            return {}
        rows = self._conn().execute(
            "SELECT article_id, title, seen_at FROM history_articles WHERE article_id = ANY(%s)",
            (list(article_ids),))
        return {row[0]: (row[1], row[2]) for row in rows}

    def alerts_per_day(self, topic_id: str, since: float) -> dict[str, int]:
        rows = self._conn().execute(
            f"SELECT {_DAY.format('a.at')} AS day, COUNT(DISTINCT a.article_id) "
            f"FROM history_alerts a WHERE a.topic_id = %s AND a.at >= %s AND {_FIRST_OF_ITS_ALERT} "
            "GROUP BY day ORDER BY day", (topic_id, since))
        return dict(rows.fetchall())

    def latest_alerts(self, topic_id: str, limit: int) -> list[AlertRow]:
        rows = self._conn().execute(
            "SELECT a.alert_id, a.topic_id, a.channel_id, a.article_id, a.at, "
            "COALESCE(h.title, ''), COALESCE(h.url, ''), COALESCE(h.source_id, '') "
            "FROM history_alerts a LEFT JOIN history_articles h ON h.article_id = a.article_id "
            f"WHERE a.topic_id = %s AND {_FIRST_OF_ITS_ALERT} "
            "ORDER BY a.at DESC, a.alert_id LIMIT %s", (topic_id, limit))
        return [AlertRow(*row) for row in rows]
