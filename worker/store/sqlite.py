"""The embedded store: one SQLite file, safe across threads and processes on one machine."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import (
    ENTRY_BUSY,
    ENTRY_NEW,
    ENTRY_SEEN,
    FAILED,
    PENDING,
    SENT,
    Delivery,
    EntryOutcomes,
    SourceState,
    Store,
    Subscription,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_state (source_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedule (source_id TEXT PRIMARY KEY, due_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS schedule_due ON schedule (due_at);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS seen_expires ON seen (expires_at);
CREATE TABLE IF NOT EXISTS entry_claims (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS entry_claims_expires ON entry_claims (expires_at);
CREATE TABLE IF NOT EXISTS fingerprints (
    article_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, outlet TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprints_at ON fingerprints (at);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT PRIMARY KEY, article_id TEXT NOT NULL, topic_id TEXT NOT NULL,
    channel_id TEXT NOT NULL, alert TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL, last_error TEXT, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, next_attempt_at REAL NOT NULL, lease_until REAL NOT NULL,
    also_reported_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS digest_items (
    channel_id TEXT NOT NULL, alert_id TEXT NOT NULL, PRIMARY KEY (channel_id, alert_id));
CREATE TABLE IF NOT EXISTS digest_due (channel_id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- Outcomes are counted by triggers, inside the ledger's own one-statement updates:
-- the hot path stays one statement per step and the counts can never disagree with it.
CREATE TRIGGER IF NOT EXISTS count_finished AFTER UPDATE OF state ON deliveries
WHEN NEW.state != OLD.state BEGIN
  INSERT INTO counts (name, value) VALUES (CASE NEW.state WHEN 'sent' THEN 'sent'
    ELSE 'undeliverable' END, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER IF NOT EXISTS count_retry AFTER UPDATE OF next_attempt_at ON deliveries
WHEN NEW.state = 'pending' AND NEW.last_error IS NOT NULL BEGIN
  INSERT INTO counts (name, value) VALUES ('retrying', 1)
    ON CONFLICT(name) DO UPDATE SET value = value + 1;
END;
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS robots (site TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS websub (
    source_id TEXT PRIMARY KEY, data TEXT NOT NULL, revision TEXT NOT NULL, check_at REAL);
CREATE INDEX IF NOT EXISTS websub_check ON websub (check_at);
"""


class SQLiteFile:
    """One connection per thread to the state file, WAL, and BEGIN IMMEDIATE transactions:
    the store and the history (which lives in the same file) handle it alike."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

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


class SQLiteStore(SQLiteFile, Store):
    unavailable = (sqlite3.OperationalError,)

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._db().executescript(_SCHEMA)

    # --- sources ----------------------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState:
        row = self._db().execute(
            "SELECT data FROM source_state WHERE source_id = ?", (source_id,)
        ).fetchone()
        return SourceState.from_json(row[0]) if row else SourceState(source_id)

    def save_source_state(self, state: SourceState) -> None:
        with self._tx() as db:
            self._save_state(db, state)

    def record_poll(self, state: SourceState, counts: dict[str, int], due_at: float,
                    entries: EntryOutcomes | None = None) -> None:
        with self._tx() as db:  # one transaction, one commit
            if entries is not None:
                self._finish_entries(db, entries)
            self._save_state(db, state)
            for name, value in counts.items():
                self._count(db, name, value)
            self._schedule(db, state.source_id, due_at)

    def schedule(self, source_id: str, due_at: float) -> None:
        with self._tx() as db:
            self._schedule(db, source_id, due_at)

    @staticmethod
    def _save_state(db: sqlite3.Connection, state: SourceState) -> None:
        db.execute("INSERT OR REPLACE INTO source_state (source_id, data) VALUES (?, ?)",
                   (state.source_id, state.to_json()))

    @staticmethod
    def _schedule(db: sqlite3.Connection, source_id: str, due_at: float) -> None:
        db.execute("INSERT OR REPLACE INTO schedule (source_id, due_at) VALUES (?, ?)",
                   (source_id, due_at))

    def schedule_new(self, source_id: str, due_at: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO schedule (source_id, due_at) VALUES (?, ?)",
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

    def claim_entries(self, keys: list[str], ttl: float) -> list[str]:
        now = time.time()
        states = []
        with self._tx() as db:  # one transaction for the whole feed
            for key in keys:
                seen = db.execute("SELECT 1 FROM seen WHERE key = ? AND expires_at > ?",
                                  (key, now)).fetchone()
                claimed = not seen and db.execute(
                    "SELECT 1 FROM entry_claims WHERE key = ? AND expires_at > ?", (key, now)
                ).fetchone()
                if seen:
                    states.append(ENTRY_SEEN)
                elif claimed:
                    states.append(ENTRY_BUSY)
                else:
                    db.execute("INSERT OR REPLACE INTO entry_claims (key, expires_at) VALUES (?, ?)",
                               (key, now + ttl))
                    states.append(ENTRY_NEW)
        return states

    def finish_entries(self, entries: EntryOutcomes) -> None:
        with self._tx() as db:
            self._finish_entries(db, entries)

    @staticmethod
    def _finish_entries(db: sqlite3.Connection, entries: EntryOutcomes) -> None:
        expires = time.time() + entries.seen_ttl
        db.executemany("INSERT OR REPLACE INTO seen (key, expires_at) VALUES (?, ?)",
                       [(key, expires) for key in entries.done])
        db.executemany("DELETE FROM entry_claims WHERE key = ?",
                       [(key,) for key in (*entries.done, *entries.failed)])

    # Tables whose rows carry their own end (`expires_at`): swept, never read once past it.
    _EXPIRING = ("seen", "entry_claims", "locks")

    def sweep(self, now: float, limit: int = 10_000) -> int:
        # Redis drops its keys itself; here a state file would otherwise grow with every
        # entry ever seen (10,000 feeds add millions of seen marks a week). A read first,
        # so that an idle sweep never takes the write lock.
        reader = self._db()
        due = [table for table in self._EXPIRING
               if reader.execute(f"SELECT 1 FROM {table} WHERE expires_at <= ? LIMIT 1", (now,)).fetchone()]
        if not due:
            return 0
        deleted = 0
        with self._tx() as db:
            for table in due:
                deleted += db.execute(
                    f"DELETE FROM {table} WHERE rowid IN "
                    f"(SELECT rowid FROM {table} WHERE expires_at <= ? LIMIT ?)", (now, limit)).rowcount
        return deleted

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
        # Older ones can never match again (the window only moves on): keep the table
        # bounded, as the Redis store does. Read first: most calls find nothing to delete.
        if self._db().execute("SELECT 1 FROM fingerprints WHERE at < ? LIMIT 1", (since,)).fetchone():
            with self._tx() as db:
                db.execute("DELETE FROM fingerprints WHERE at < ?", (since,))
        return [(a, int(f), o) for a, f, o in rows]

    # --- deliveries -------------------------------------------------------------------

    # Each ledger step is one SQL statement (atomic on its own): no read-modify-write
    # round trips on the hot path of every alert.
    _COLUMNS = ("alert_id, article_id, topic_id, channel_id, alert, state, attempts, last_error, "
                "created_at, updated_at, next_attempt_at, lease_until, also_reported_by")

    @classmethod
    def _row_to_delivery(cls, row: tuple[Any, ...] | None) -> Delivery | None:
        return None if row is None else cls._delivery_from_row(row)

    @staticmethod
    def _delivery_from_row(row: tuple[Any, ...]) -> Delivery:
        (alert_id, article_id, topic_id, channel_id, alert, state, attempts, last_error,
         created_at, updated_at, next_attempt_at, lease_until, also) = row
        return Delivery(
            alert_id=alert_id, article_id=article_id, topic_id=topic_id, channel_id=channel_id,
            alert=json.loads(alert), state=state, attempts=attempts, last_error=last_error,
            created_at=created_at, updated_at=updated_at, next_attempt_at=next_attempt_at,
            lease_until=lease_until, also_reported_by=json.loads(also),
        )

    def create_delivery(self, delivery: Delivery, digest: bool = False) -> bool:
        d = delivery
        insert = (
            f"INSERT OR IGNORE INTO deliveries ({self._COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.alert_id, d.article_id, d.topic_id, d.channel_id,
             json.dumps(d.alert, ensure_ascii=False), d.state, d.attempts, d.last_error,
             d.created_at, d.updated_at, d.next_attempt_at, d.lease_until,
             json.dumps(d.also_reported_by, ensure_ascii=False)),
        )
        if not digest:
            return self._db().execute(*insert).rowcount == 1  # one statement: atomic
        with self._tx() as db:
            created = db.execute(*insert).rowcount == 1
            if created:
                db.execute("INSERT OR IGNORE INTO digest_items (channel_id, alert_id) VALUES (?, ?)",
                           (d.channel_id, d.alert_id))
        return created

    def delivery(self, alert_id: str) -> Delivery | None:
        row = self._db().execute(
            f"SELECT {self._COLUMNS} FROM deliveries WHERE alert_id = ?", (alert_id,)
        ).fetchone()
        return self._row_to_delivery(row)

    def claim_delivery(self, alert_id: str, now: float, lease: float,
                       held_until: float | None = None) -> Delivery | None:
        row = self._db().execute(
            "UPDATE deliveries SET attempts = attempts + 1, lease_until = ?, updated_at = ? "
            "WHERE alert_id = ? AND state = ? AND next_attempt_at <= ? "
            "AND (lease_until <= ? OR lease_until = ?) "
            f"RETURNING {self._COLUMNS}",
            (now + lease, now, alert_id, PENDING, now, now, held_until),
        ).fetchone()
        return self._row_to_delivery(row)

    def finish_delivery(self, alert_id: str, state: str, error: str | None, now: float) -> None:
        assert state in (SENT, FAILED)
        self._db().execute(
            "UPDATE deliveries SET state = ?, last_error = ?, lease_until = 0, updated_at = ? "
            "WHERE alert_id = ?",
            (state, error, now, alert_id),
        )

    def retry_delivery(self, alert_id: str, error: str, next_attempt_at: float, now: float) -> None:
        self._db().execute(
            "UPDATE deliveries SET last_error = ?, lease_until = 0, updated_at = ?, "
            "next_attempt_at = ? WHERE alert_id = ? AND state = ?",
            (error, now, next_attempt_at, alert_id, PENDING),
        )

    def add_also_reported(self, alert_id: str, outlet: str) -> None:
        with self._tx() as db:
            row = db.execute(
                f"SELECT {self._COLUMNS} FROM deliveries WHERE alert_id = ?", (alert_id,)
            ).fetchone()
            record = self._row_to_delivery(row)
            if record is None or record.outlet == outlet:
                return
            outlets = record.also_reported_by
            if outlet not in outlets:
                db.execute("UPDATE deliveries SET also_reported_by = ? WHERE alert_id = ?",
                           (json.dumps([*outlets, outlet], ensure_ascii=False), alert_id))

    def due_deliveries(self, now: float, limit: int = 500) -> list[str]:
        rows = self._db().execute(
            "SELECT alert_id FROM deliveries WHERE state = ? AND next_attempt_at <= ? "
            "AND lease_until <= ? ORDER BY next_attempt_at LIMIT ?",
            (PENDING, now, now, limit),
        ).fetchall()
        return [row[0] for row in rows]

    def recent_deliveries(self, limit: int = 20) -> list[Delivery]:
        rows = self._db().execute(
            f"SELECT {self._COLUMNS} FROM deliveries ORDER BY updated_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [self._delivery_from_row(row) for row in rows]

    def delivery_counts(self) -> dict[str, int]:
        rows = self._db().execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        counts = {PENDING: 0, SENT: 0, FAILED: 0}
        counts.update(dict(rows.fetchall()))
        return counts

    # --- digests ----------------------------------------------------------------------

    def digest_items(self, channel_id: str) -> list[str]:
        rows = self._db().execute(
            "SELECT alert_id FROM digest_items WHERE channel_id = ? ORDER BY rowid", (channel_id,)
        ).fetchall()
        return [row[0] for row in rows]

    def remove_from_digest(self, channel_id: str, alert_ids: list[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM digest_items WHERE channel_id = ? AND alert_id = ?",
                           [(channel_id, alert_id) for alert_id in alert_ids])

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

    # --- activity counters --------------------------------------------------------------

    def add_counts(self, counts: dict[str, int]) -> None:
        with self._tx() as db:
            for name, value in counts.items():
                self._count(db, name, value)

    @staticmethod
    def _count(db: sqlite3.Connection, name: str, value: int = 1) -> None:
        if value:
            db.execute("INSERT INTO counts (name, value) VALUES (?, ?) "
                       "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                       (name, int(value)))

    def take_counts(self) -> dict[str, int]:
        with self._tx() as db:
            counts = dict(db.execute("SELECT name, value FROM counts").fetchall())
            db.execute("DELETE FROM counts")
        return counts

    # --- WebSub subscriptions ----------------------------------------------------------

    def subscription(self, source_id: str) -> Subscription | None:
        row = self._db().execute("SELECT data FROM websub WHERE source_id = ?", (source_id,)).fetchone()
        return Subscription.from_json(row[0]) if row else None

    def subscriptions(self) -> list[Subscription]:
        rows = self._db().execute("SELECT data FROM websub ORDER BY source_id").fetchall()
        return [Subscription.from_json(row[0]) for row in rows]

    def put_subscription(self, subscription: Subscription, replaces: str | None) -> bool:
        sub = subscription
        with self._tx() as db:
            row = db.execute("SELECT revision FROM websub WHERE source_id = ?",
                             (sub.source_id,)).fetchone()
            if (row[0] if row else None) != replaces:
                return False
            db.execute("INSERT OR REPLACE INTO websub (source_id, data, revision, check_at) "
                       "VALUES (?, ?, ?, ?)", (sub.source_id, sub.to_json(), sub.revision, sub.check_at))
        return True

    def drop_subscription(self, source_id: str, replaces: str) -> bool:
        return self._db().execute("DELETE FROM websub WHERE source_id = ? AND revision = ?",
                                  (source_id, replaces)).rowcount == 1

    def claim_subscriptions(self, now: float, hold: float, limit: int = 200) -> list[str]:
        with self._tx() as db:
            rows = db.execute("SELECT source_id FROM websub WHERE check_at <= ? ORDER BY check_at "
                              "LIMIT ?", (now, limit)).fetchall()
            ids = [row[0] for row in rows]
            db.executemany("UPDATE websub SET check_at = ? WHERE source_id = ?",
                           [(now + hold, source_id) for source_id in ids])
        return ids

    # --- coordination -----------------------------------------------------------------

    def robots_txt(self, site: str) -> str | None:
        row = self._db().execute(
            "SELECT record FROM robots WHERE site = ? AND expires_at > ?", (site, time.time())
        ).fetchone()
        return row[0] if row else None

    def save_robots_txt(self, site: str, record: str, ttl: float) -> None:
        now = time.time()
        with self._tx() as db:
            # Expired rows go on each write: the table holds at most the sites polled lately.
            db.execute("DELETE FROM robots WHERE expires_at <= ?", (now,))
            db.execute("INSERT OR REPLACE INTO robots (site, record, expires_at) VALUES (?, ?, ?)",
                       (site, record, now + ttl))

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
