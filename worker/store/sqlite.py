"""The embedded store: one SQLite file, safe across threads and processes on one machine."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .base import FAILED, PENDING, SENT, Delivery, SourceState, Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_state (source_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedule (source_id TEXT PRIMARY KEY, due_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS schedule_due ON schedule (due_at);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprints (
    article_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, outlet TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprints_at ON fingerprints (at);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT PRIMARY KEY, state TEXT NOT NULL, next_attempt_at REAL NOT NULL,
    lease_until REAL NOT NULL, updated_at REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS digest_items (
    channel_id TEXT NOT NULL, alert_id TEXT NOT NULL, PRIMARY KEY (channel_id, alert_id));
CREATE TABLE IF NOT EXISTS digest_due (channel_id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL);
"""


class SQLiteStore(Store):
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._db().executescript(_SCHEMA)

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
        # BEGIN IMMEDIATE takes the write lock up front: check-then-write is atomic
        # across threads and processes sharing the file.
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

    # --- sources ----------------------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState:
        row = self._db().execute(
            "SELECT data FROM source_state WHERE source_id = ?", (source_id,)
        ).fetchone()
        return SourceState.from_json(row[0]) if row else SourceState(source_id)

    def save_source_state(self, state: SourceState) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO source_state (source_id, data) VALUES (?, ?)",
                (state.source_id, state.to_json()),
            )

    def schedule(self, source_id: str, due_at: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO schedule (source_id, due_at) VALUES (?, ?)",
                (source_id, due_at),
            )

    def unschedule(self, source_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM schedule WHERE source_id = ?", (source_id,))

    def claim_due(self, now: float, hold: float, limit: int = 1000) -> list[str]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT source_id FROM schedule WHERE due_at <= ? ORDER BY due_at LIMIT ?",
                (now, limit),
            ).fetchall()
            ids = [row[0] for row in rows]
            db.executemany(
                "UPDATE schedule SET due_at = ? WHERE source_id = ?",
                [(now + hold, source_id) for source_id in ids],
            )
        return ids

    def scheduled(self) -> dict[str, float]:
        return dict(self._db().execute("SELECT source_id, due_at FROM schedule").fetchall())

    # --- seen -------------------------------------------------------------------------

    def first_seen(self, key: str, ttl: float) -> bool:
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT expires_at FROM seen WHERE key = ?", (key,)).fetchone()
            if row and row[0] > now:
                return False
            db.execute(
                "INSERT OR REPLACE INTO seen (key, expires_at) VALUES (?, ?)", (key, now + ttl)
            )
            return True

    def forget_seen(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM seen WHERE key = ?", (key,))

    def add_fingerprint(self, article_id: str, fingerprint: int, outlet: str, at: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO fingerprints (article_id, fingerprint, outlet, at) "
                "VALUES (?, ?, ?, ?)",
                (article_id, str(fingerprint), outlet, at),
            )

    def fingerprints_since(self, since: float) -> list[tuple[str, int, str]]:
        rows = self._db().execute(
            "SELECT article_id, fingerprint, outlet FROM fingerprints WHERE at >= ? ORDER BY at",
            (since,),
        ).fetchall()
        return [(a, int(f), o) for a, f, o in rows]

    # --- deliveries -------------------------------------------------------------------

    def _write(self, db: sqlite3.Connection, delivery: Delivery) -> None:
        db.execute(
            "INSERT OR REPLACE INTO deliveries "
            "(alert_id, state, next_attempt_at, lease_until, updated_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (delivery.alert_id, delivery.state, delivery.next_attempt_at, delivery.lease_until,
             delivery.updated_at, delivery.to_json()),
        )

    def _read(self, db: sqlite3.Connection, alert_id: str) -> Delivery | None:
        row = db.execute("SELECT data FROM deliveries WHERE alert_id = ?", (alert_id,)).fetchone()
        return Delivery.from_json(row[0]) if row else None

    def create_delivery(self, delivery: Delivery) -> bool:
        with self._tx() as db:
            if self._read(db, delivery.alert_id) is not None:
                return False
            self._write(db, delivery)
            return True

    def delivery(self, alert_id: str) -> Delivery | None:
        return self._read(self._db(), alert_id)

    def claim_delivery(self, alert_id: str, now: float, lease: float) -> Delivery | None:
        with self._tx() as db:
            current = self._read(db, alert_id)
            if (
                current is None
                or current.state != PENDING
                or current.next_attempt_at > now
                or current.lease_until > now
            ):
                return None
            claimed = current.but(attempts=current.attempts + 1, lease_until=now + lease,
                                  updated_at=now)
            self._write(db, claimed)
            return claimed

    def finish_delivery(self, alert_id: str, state: str, error: str | None, now: float) -> None:
        assert state in (SENT, FAILED)
        with self._tx() as db:
            current = self._read(db, alert_id)
            if current is not None:
                self._write(db, current.but(state=state, last_error=error, lease_until=0.0,
                                            updated_at=now))

    def retry_delivery(self, alert_id: str, error: str, next_attempt_at: float, now: float) -> None:
        with self._tx() as db:
            current = self._read(db, alert_id)
            if current is not None and current.state == PENDING:
                self._write(db, current.but(last_error=error, lease_until=0.0, updated_at=now,
                                            next_attempt_at=next_attempt_at))

    def add_also_reported(self, alert_id: str, outlet: str) -> None:
        with self._tx() as db:
            current = self._read(db, alert_id)
            if current is not None and outlet not in current.also_reported_by:
                self._write(db, current.but(also_reported_by=[*current.also_reported_by, outlet]))

    def due_deliveries(self, now: float, limit: int = 500) -> list[str]:
        rows = self._db().execute(
            "SELECT alert_id FROM deliveries WHERE state = ? AND next_attempt_at <= ? "
            "AND lease_until <= ? ORDER BY next_attempt_at LIMIT ?",
            (PENDING, now, now, limit),
        ).fetchall()
        return [row[0] for row in rows]

    def recent_deliveries(self, limit: int = 20) -> list[Delivery]:
        rows = self._db().execute(
            "SELECT data FROM deliveries ORDER BY updated_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Delivery.from_json(row[0]) for row in rows]

    def delivery_counts(self) -> dict[str, int]:
        rows = self._db().execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        counts = {PENDING: 0, SENT: 0, FAILED: 0}
        counts.update(dict(rows.fetchall()))
        return counts

    # --- digests ----------------------------------------------------------------------

    def add_to_digest(self, channel_id: str, alert_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO digest_items (channel_id, alert_id) VALUES (?, ?)",
                (channel_id, alert_id),
            )

    def take_digest(self, channel_id: str) -> list[str]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT alert_id FROM digest_items WHERE channel_id = ? ORDER BY rowid",
                (channel_id,),
            ).fetchall()
            db.execute("DELETE FROM digest_items WHERE channel_id = ?", (channel_id,))
        return [row[0] for row in rows]

    def digest_due(self, channel_id: str) -> float | None:
        row = self._db().execute(
            "SELECT at FROM digest_due WHERE channel_id = ?", (channel_id,)
        ).fetchone()
        return row[0] if row else None

    def set_digest_due(self, channel_id: str, at: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO digest_due (channel_id, at) VALUES (?, ?)", (channel_id, at)
            )

    # --- coordination -----------------------------------------------------------------

    def try_lock(self, name: str, token: str, ttl: float) -> bool:
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT expires_at FROM locks WHERE name = ?", (name,)).fetchone()
            if row and row[0] > now:
                return False
            db.execute("INSERT OR REPLACE INTO locks (name, token, expires_at) VALUES (?, ?, ?)",
                       (name, token, now + ttl))
            return True

    def unlock(self, name: str, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND token = ?", (name, token))
