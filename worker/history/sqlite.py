"""History in the embedded SQLite state file, with an FTS5 word index."""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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
from .migrations import migrate_sqlite

_DAY = "strftime('%Y-%m-%d', {0}, 'unixepoch')"


def fts_query(terms: Sequence[TermKey]) -> str:
    """FTS5 query: any of the terms, each as all of its words (the last one a prefix).

    Normalised words are letters, digits and marks only, so quoting cannot be broken."""
    clauses = []
    for words, prefix in terms:
        quoted = [f'"{w}"' for w in words]
        if prefix:
            quoted[-1] += " *"
        clauses.append(quoted[0] if len(quoted) == 1 else "(" + " AND ".join(quoted) + ")")
    return " OR ".join(clauses)


class SQLiteHistory(History):
    unavailable = (sqlite3.OperationalError, sqlite3.DatabaseError)

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        migrate_sqlite(self._db())

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---------------------------------------------------------------- writing

    def record(self, article: Article, matches: Sequence[Match], alerts: Sequence[AlertRef],
               at: float) -> None:
        words = " ".join(indexed_words(article))
        packed_words = zlib.compress(words.encode(), 6)
        body = encode_body(article)
        with self._tx() as db:
            self._delete_ids(db, [row[0] for row in db.execute(
                "SELECT id FROM history_articles WHERE article_id = ?", (article.id,))])
            cursor = db.execute(
                "INSERT INTO history_articles (article_id, seen_at, published, source_id, "
                "language, title, url, body, words, matches, alerts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (article.id, at, published_ts(article), article.source.id, article.language,
                 article.title, article.url, body, packed_words, matches_json(matches),
                 alerts_json(alerts)))
            db.execute("INSERT INTO history_words (rowid, words) VALUES (?, ?)",
                       (cursor.lastrowid, words))
            db.executemany(
                "INSERT OR IGNORE INTO history_alerts (alert_id, article_id, topic_id, "
                "channel_id, at) VALUES (?, ?, ?, ?, ?)",
                [(alert_id, article.id, topic_id, channel_id, at)
                 for topic_id, channel_id, alert_id in alerts])

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

    def count(self, since: float | None = None) -> int:
        if since is None:
            return self._db().execute("SELECT COUNT(*) FROM history_articles").fetchone()[0]
        return self._db().execute("SELECT COUNT(*) FROM history_articles WHERE seen_at >= ?",
                                  (since,)).fetchone()[0]

    def articles(self, since: float, any_of: Sequence[TermKey] | None = None,
                 sources: Collection[str] = ()) -> Iterator[StoredArticle]:
        where, params = ["seen_at >= ?"], [since]
        if any_of is not None:
            if not any_of:
                return
            where.append("id IN (SELECT rowid FROM history_words WHERE history_words MATCH ?)")
            params.append(fts_query(any_of))
        if sources:
            where.append(f"source_id IN ({','.join('?' * len(sources))})")
            params.extend(sources)
        cursor = self._db().execute(
            f"SELECT body, seen_at, matches, alerts FROM history_articles "
            f"WHERE {' AND '.join(where)} ORDER BY seen_at DESC", params)
        for body, seen_at, matches, alerts in cursor:
            yield stored(body, seen_at, matches, alerts)

    def alerted_articles(self, topic_id: str, since: float) -> set[str]:
        rows = self._db().execute(
            "SELECT DISTINCT article_id FROM history_alerts WHERE topic_id = ? AND at >= ?",
            (topic_id, since))
        return {row[0] for row in rows}

    def describe(self, article_ids: Collection[str]) -> dict[str, tuple[str, float]]:
        found: dict[str, tuple[str, float]] = {}
        ids = list(article_ids)
        for start in range(0, len(ids), 500):  # SQLite caps the number of parameters
            chunk = ids[start:start + 500]
            rows = self._db().execute(
                "SELECT article_id, title, seen_at FROM history_articles WHERE article_id IN "
                f"({','.join('?' * len(chunk))})", chunk)
            found.update((row[0], (row[1], row[2])) for row in rows)
        return found

    def alerts_per_day(self, topic_id: str, since: float) -> dict[str, int]:
        # A story's alert row is the first one carrying its alert id: republications
        # folded into it later are not counted again.
        rows = self._db().execute(
            f"SELECT {_DAY.format('a.at')} AS day, COUNT(DISTINCT a.article_id) "
            "FROM history_alerts a WHERE a.topic_id = ? AND a.at >= ? AND NOT EXISTS ("
            "  SELECT 1 FROM history_alerts b WHERE b.alert_id = a.alert_id AND b.at < a.at) "
            "GROUP BY day ORDER BY day", (topic_id, since))
        return dict(rows.fetchall())

    def latest_alerts(self, topic_id: str, limit: int) -> list[AlertRow]:
        rows = self._db().execute(
            "SELECT a.alert_id, a.topic_id, a.channel_id, a.article_id, a.at, "
            "COALESCE(h.title, ''), COALESCE(h.url, ''), COALESCE(h.source_id, '') "
            "FROM history_alerts a LEFT JOIN history_articles h ON h.article_id = a.article_id "
            "WHERE a.topic_id = ? AND NOT EXISTS ("
            "  SELECT 1 FROM history_alerts b WHERE b.alert_id = a.alert_id AND b.at < a.at) "
            "ORDER BY a.at DESC, a.alert_id LIMIT ?", (topic_id, limit))
        return [AlertRow(*row) for row in rows]
