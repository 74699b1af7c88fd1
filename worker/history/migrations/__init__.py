"""Versioned schema changes for the history stores, applied on start.

A small numbered-SQL runner rather than Alembic: the project has no SQLAlchemy
models for Alembic to diff against, the two dialects need hand-written SQL anyway
(an FTS5 virtual table here, a tsvector column with a GIN index there), and the
whole mechanism is "apply the files whose number is not recorded yet, in order,
each in one transaction". Files: `<dialect>/NNNN_what.sql`; a file once released
is never edited, a change is a new file.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

TABLE = "history_migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any 64-bit number shared by every process that migrates the same database.
PG_LOCK_KEY = 0x6E657773  # "news"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """Every migration of a dialect ('sqlite' or 'postgres'), by version."""
    found = []
    for entry in resources.files(__package__).joinpath(dialect).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two {dialect} migrations share a number: {versions}")
    return found


def sqlite_statements(sql: str) -> list[str]:
    """Split a script into statements (triggers keep their inner semicolons)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current.strip())
    return statements


def migrate_sqlite(db: sqlite3.Connection) -> list[int]:
    """Apply pending migrations in one write transaction; returns the versions applied.

    BEGIN IMMEDIATE takes the file's write lock first, so two processes starting
    together apply each migration once (executescript would commit on its own)."""
    db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (version INTEGER PRIMARY KEY, "
               "name TEXT NOT NULL, applied_at REAL NOT NULL)")
    db.execute("BEGIN IMMEDIATE")
    try:
        applied = {row[0] for row in db.execute(f"SELECT version FROM {TABLE}")}
        done = []
        for migration in migrations("sqlite"):
            if migration.version in applied:
                continue
            for statement in sqlite_statements(migration.sql):
                db.execute(statement)
            db.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
                       (migration.version, migration.name, time.time()))
            done.append(migration.version)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return done


def migrate_postgres(conn: Any) -> list[int]:
    """Apply pending migrations in one transaction under an advisory lock (workers,
    beat and web may all start at once against the same database)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK_KEY,))
        conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)")
        applied = {row[0] for row in conn.execute(f"SELECT version FROM {TABLE}")}
        done = []
        for migration in migrations("postgres"):
            if migration.version in applied:
                continue
            conn.execute(migration.sql)
            conn.execute(f"INSERT INTO {TABLE} VALUES (%s, %s, %s)",
                         (migration.version, migration.name, time.time()))
            done.append(migration.version)
    return done
