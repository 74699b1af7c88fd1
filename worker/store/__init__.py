"""One store contract (base.Store) with two homes: Redis (distributed) and SQLite (embedded)."""

from __future__ import annotations

from ..models import Settings
from .base import (
    ENTRY_BUSY,
    ENTRY_NEW,
    ENTRY_SEEN,
    FAILED,
    PENDING,
    SENT,
    SUB_ACTIVE,
    SUB_DISCOVERED,
    SUB_RENEWING,
    SUB_SUBSCRIBING,
    SUB_UNSUBSCRIBING,
    Delivery,
    EntryOutcomes,
    SourceState,
    Store,
    Subscription,
)


def open_store(settings: Settings) -> Store:
    """Redis when `redis_url` is set, else the SQLite file at `state_path`."""
    if settings.redis_url:
        from .redis import RedisStore

        return RedisStore(settings.redis_url)
    from .sqlite import SQLiteStore

    return SQLiteStore(settings.state_path)


__all__ = ["ENTRY_BUSY", "ENTRY_NEW", "ENTRY_SEEN", "FAILED", "PENDING", "SENT", "SUB_ACTIVE",
           "SUB_DISCOVERED", "SUB_RENEWING", "SUB_SUBSCRIBING", "SUB_UNSUBSCRIBING", "Delivery",
           "EntryOutcomes", "SourceState", "Store", "Subscription", "open_store"]
