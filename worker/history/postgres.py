"""History in PostgreSQL (distributed mode): a tsvector word index with GIN."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import psycopg

from .base import (
    HistoryItem,
    StoredArticle,
    TermKey,
    indexed_words,
    stored,
)
from .migrations import migrate_postgres
from .sql import ARTICLE_COLUMNS, INSERT_ALERT, SQLHistory, alert_values, any_term_query, article_values

CONNECT_TIMEOUT = 5  # seconds: an unreachable database must not hold a poll for long


def ts_query(terms: Sequence[TermKey]) -> str:
    """A tsquery literal, lexemes taken verbatim: `'armeni':* | ('bahan' & 'baku')`."""
    return any_term_query(terms, "'{}'", ":*", " & ", " | ")


class PostgresHistory(SQLHistory):
    unavailable = (psycopg.OperationalError, psycopg.InterfaceError)
    DAY = "to_char(to_timestamp({0}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        # Every thread's connection, so that close() (called from one thread) closes them all.
        self._opened: list[psycopg.Connection[Any]] = []
        self._opened_lock = threading.Lock()
        migrate_postgres(self._conn())

    def _conn(self) -> psycopg.Connection[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT, autocommit=True,
                                   application_name="newswatch")
            self._local.conn = conn
            with self._opened_lock:
                self._opened = [c for c in self._opened if not c.closed] + [conn]
        return conn

    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local.conn = None

    # ---------------------------------------------------------------- writing

    def record_many(self, items: Sequence[HistoryItem]) -> None:
        # Three statements per poll, not two per article: executemany sends a batch in
        # one pipeline (one round trip), and the words go as one string split server-side
        # (a text[] of 100 words costs more to encode, client side, than the article).
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*ARTICLE_COLUMNS[1:], "words"))
        rows = [(*article_values(item.article, item.matches, item.alerts, item.at),
                 " ".join(indexed_words(item.article, item.words))) for item in items]
        # An article recorded twice in one batch keeps the alert rows of its last record,
        # as two separate records would (the DELETE below clears them all first).
        last = {item.article.id: item for item in items}
        alert_rows = [row for item in last.values() for row in alert_values(item.article, item.alerts, item.at)]
        conn = self._conn()
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO history_articles ({', '.join(ARTICLE_COLUMNS)}, words) VALUES "
                f"({', '.join(['%s'] * len(ARTICLE_COLUMNS))}, "
                "array_to_tsvector(string_to_array(%s, ' '))) "
                f"ON CONFLICT (article_id) DO UPDATE SET {updates}", rows)
            # A rerun replaces the article's alert rows with the ones it carries now.
            cursor.execute("DELETE FROM history_alerts WHERE article_id = ANY(%s)",
                           (list(last),))
            if alert_rows:
                cursor.executemany(INSERT_ALERT + "(%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                   alert_rows)

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

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn().execute(sql.replace("?", "%s"), params).fetchall()

    def _words_clause(self, terms: Sequence[TermKey]) -> tuple[str, str]:
        return "words @@ ?::tsquery", ts_query(terms)

    def articles(self, since: float, any_of: Sequence[TermKey] | None = None,
                 sources: Collection[str] = ()) -> Iterator[StoredArticle]:
        if any_of is not None and not any_of:
            return
        where, params = self._filter(since, any_of, sources)
        # A server-side cursor streams the rows: a broad query over 100,000 articles
        # never holds them all in memory.
        conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT,
                               application_name="newswatch-read")
        try:
            with conn.cursor(name="history_articles", binary=True) as cursor:
                cursor.itersize = 2000
                cursor.execute(
                    "SELECT body, seen_at, matches, alerts FROM history_articles "
                    f"WHERE {where.replace('?', '%s')} ORDER BY seen_at DESC", params)
                for body, seen_at, matches, alerts in cursor:
                    yield stored(body, seen_at, matches, alerts)
        finally:
            conn.close()
