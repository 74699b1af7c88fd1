"""History in the embedded SQLite state file, with an FTS5 word index."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..store.sqlite import SQLiteFile
from .base import (
    HistoryItem,
    StoredArticle,
    TermKey,
    indexed_words,
    stored,
)
from .migrations import migrate_sqlite
from .sql import ARTICLE_COLUMNS, INSERT_ALERT, SQLHistory, alert_values, any_term_query, article_values


def fts_query(terms: Sequence[TermKey]) -> str:
    """FTS5: `"armeni" * OR ("bahan" AND "baku")`."""
    return any_term_query(terms, '"{}"', " *", " AND ", " OR ")


# SQLiteFile first: its close() overrides the contract's optional no-op one.
class SQLiteHistory(SQLiteFile, SQLHistory):
    unavailable = (sqlite3.OperationalError, sqlite3.DatabaseError)
    DAY = "strftime('%Y-%m-%d', {0}, 'unixepoch')"

    def __init__(self, path: str | Path) -> None:
        # One connection per thread, WAL, and BEGIN IMMEDIATE transactions: the very
        # handling of the state file the store uses (history lives in the same file).
        super().__init__(path)
        migrate_sqlite(self._db())

    # ---------------------------------------------------------------- writing

    def record_many(self, items: Sequence[HistoryItem]) -> None:
        with self._tx() as db:
            for article, matches, alerts, at, scanned in items:
                words = " ".join(indexed_words(article, scanned))
                values = (*article_values(article, matches, alerts, at), zlib.compress(words.encode(), 6))
                self._delete_ids(db, [row[0] for row in db.execute(
                    "SELECT id FROM history_articles WHERE article_id = ?", (article.id,))])
                cursor = db.execute(
                    f"INSERT INTO history_articles ({', '.join(ARTICLE_COLUMNS)}, words) "
                    f"VALUES ({', '.join('?' * len(values))})", values)
                db.execute("INSERT INTO history_words (rowid, words) VALUES (?, ?)",
                           (cursor.lastrowid, words))
                db.executemany(INSERT_ALERT.replace("INSERT", "INSERT OR IGNORE") + "(?, ?, ?, ?, ?)",
                               alert_values(article, alerts, at))

    @staticmethod
    def _delete_ids(db: sqlite3.Connection, ids: list[int]) -> None:
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        rows = db.execute(f"SELECT id, article_id, words FROM history_articles WHERE id IN ({marks})",
                          ids).fetchall()
        # A contentless index forgets a row only when told the words it was given.
        db.executemany("INSERT INTO history_words (history_words, rowid, words) "
                       "VALUES ('delete', ?, ?)",
                       [(row_id, zlib.decompress(words).decode()) for row_id, _, words in rows])
        db.executemany("DELETE FROM history_alerts WHERE article_id = ?",
                       [(article_id,) for _, article_id, _ in rows])
        db.execute(f"DELETE FROM history_articles WHERE id IN ({marks})", ids)

    def expire(self, before: float, limit: int) -> int:
        with self._tx() as db:
            ids = [row[0] for row in db.execute(
                "SELECT id FROM history_articles WHERE seen_at < ? ORDER BY seen_at LIMIT ?",
                (before, limit))]
            self._delete_ids(db, ids)
        return len(ids)

    # ---------------------------------------------------------------- reading

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db().execute(sql, params).fetchall()

    def _words_clause(self, terms: Sequence[TermKey]) -> tuple[str, str]:
        return "id IN (SELECT rowid FROM history_words WHERE history_words MATCH ?)", fts_query(terms)

    def articles(self, since: float, any_of: Sequence[TermKey] | None = None,
                 sources: Collection[str] = ()) -> Iterator[StoredArticle]:
        if any_of is not None and not any_of:
            return
        where, params = self._filter(since, any_of, sources)
        cursor = self._db().execute(
            "SELECT body, seen_at, matches, alerts FROM history_articles "
            f"WHERE {where} ORDER BY seen_at DESC", params)
        for body, seen_at, matches, alerts in cursor:
            yield stored(body, seen_at, matches, alerts)
