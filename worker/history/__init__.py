"""History of parsed articles: the contract (base), SQLite FTS5 and PostgreSQL homes.

    from worker.history import open_history, recorder_for
    history = open_history(settings)            # for readers: backtest, search, web
    rt.history.record(article, matches, alerts) # the pipeline's guarded handle
"""

from __future__ import annotations

from ..models import Settings
from .base import AlertRow, History, HistoryUnavailable, StoredArticle, TermKey
from .guard import HistoryRecorder


def history_home(settings: Settings) -> str | None:
    """Where history lives: 'postgres' with database_url, 'sqlite' in embedded mode,
    None in distributed mode without a database (history needs PostgreSQL there)."""
    if settings.database_url:
        return "postgres"
    if not settings.redis_url:
        return "sqlite"
    return None


def open_history(settings: Settings) -> History:
    """Open (and migrate) the history store; raises HistoryUnavailable with the reason."""
    home = history_home(settings)
    if home is None:
        raise HistoryUnavailable("distributed mode keeps history in PostgreSQL: set "
                                 "settings.database_url (e.g. ${DATABASE_URL})")
    if home == "postgres":
        import psycopg

        from .postgres import PostgresHistory

        try:
            return PostgresHistory(settings.database_url)
        except psycopg.Error as error:
            from ..logs import redact

            # libpq adds a hint on a second line; the first says what failed.
            reason = redact(str(error)).strip().splitlines()[0] if str(error).strip() else "?"
            raise HistoryUnavailable(f"cannot reach PostgreSQL: {reason}") from None
    import sqlite3

    from .sqlite import SQLiteHistory

    try:
        return SQLiteHistory(settings.state_path)
    except sqlite3.Error as error:
        raise HistoryUnavailable(f"cannot open {settings.state_path}: {error}") from None


def recorder_for(settings: Settings) -> HistoryRecorder:
    """The pipeline's handle: lazy, guarded, off when settings.history is 0."""
    home = history_home(settings)
    keep = settings.history if home else 0.0
    what = {"postgres": "PostgreSQL", "sqlite": "SQLite state file"}.get(home or "", "none")
    return HistoryRecorder(lambda: open_history(settings), keep, what)


__all__ = ["AlertRow", "History", "HistoryRecorder", "HistoryUnavailable", "StoredArticle",
           "TermKey", "history_home", "open_history", "recorder_for"]
