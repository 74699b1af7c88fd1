"""Riding out a broker restart: kombu's Redis transport made to survive it, and one log
line when the broker goes away and one when it is back.

Why the shim: when the broker connection breaks, Celery's consumer collects the old
connection (which closes its channels and then clears the transport's `client`) and then
closes it again. The Redis channel's close first drops its connection pools, then gives
the messages it holds unacknowledged back to Redis through a fresh pool, built from
`transport.client`'s address, which is now None: an AttributeError, which the consumer
does not expect from a close, and the worker exits (kombu/Celery 5.7). Raising the
transport's own connection error there instead lets the consumer ignore the failed close
and reconnect. Nothing is lost by not restoring at that moment: the messages stay in
Redis's unacked set and come back after the visibility timeout, and the store, not the
broker, says what work is due (see README "What survives which fault").
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

from .logs import format_fields


class _RedisChannel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport is None or transport.client is None:
            raise redis.exceptions.ConnectionError("the broker connection is already closed")
        # kombu's private hook, which celery-types does not stub: the very method the shim is for.
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return params


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport whose channels fail a close after the connection is gone
    with a connection error (which Celery ignores) instead of an AttributeError."""

    Channel = _RedisChannel


def use_restart_safe_redis_transport() -> None:
    """Make redis:// and rediss:// broker URLs use RedisTransport below. (Through kombu's
    alias table rather than Celery's broker_transport, so URLs and logs keep saying
    redis://.)"""
    from kombu.transport import TRANSPORT_ALIASES

    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:RedisTransport"


# What Celery's worker and beat log while the broker is unreachable: the first such line
# becomes `task=broker status=lost`, the others (one per retry or tick) are dropped.
_CANCEL_WARNING = "on connection loss cancels all currently executed tasks"
_LOST_MARKERS = ("Connection to broker lost", "Cannot connect to", "Couldn't apply scheduled task",
                 "beat: Connection error")


class BrokerOutageLog(logging.Filter):
    """One line when the broker goes away, one when it is back, for one process."""

    def __init__(self) -> None:
        super().__init__()
        self.down_since: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "py.warnings":
            # Celery warns on every connection loss that worker_cancel_long_running_tasks_
            # on_connection_loss will change its default: False is our choice (a delivery
            # cut mid-send would be sent twice), not an oversight.
            return _CANCEL_WARNING not in record.getMessage()
        if not record.name.startswith("celery"):
            return True
        message = record.getMessage()
        if any(marker in message for marker in _LOST_MARKERS):
            if self.down_since is not None:
                return False
            self.down_since = time.monotonic()
            error = message.split(": ", 1)[-1].splitlines()[0] if ": " in message else message
            self._rewrite(record, logging.WARNING, status="lost", error=error[:200],
                          detail="reconnecting with backoff; work due meanwhile runs after")
            return True
        if message.startswith("Connected to") and self.down_since is not None:
            self.back(record)
        return True

    def back(self, record: logging.LogRecord | None = None) -> None:
        """The broker answers again (a connect or a publish went through)."""
        if self.down_since is None:
            return
        down_s = round(time.monotonic() - self.down_since, 1)
        self.down_since = None
        if record is None:
            logging.getLogger("newswatch.broker").info(
                format_fields({"task": "broker", "status": "back", "down_s": down_s}),
                extra={"fields": {"task": "broker", "status": "back", "down_s": down_s}})
        else:
            self._rewrite(record, logging.INFO, status="back", down_s=down_s)

    @staticmethod
    def _rewrite(record: logging.LogRecord, level: int, **fields: object) -> None:
        ordered = {"task": "broker", **fields}
        record.msg, record.args = format_fields(ordered), ()
        record.fields = ordered
        record.levelno, record.levelname = level, logging.getLevelName(level)
        record.exc_info = record.exc_text = None  # the traceback of a refused connection


outage_log = BrokerOutageLog()


def install_outage_log(target: logging.Logger | None = None) -> None:
    """Put the outage filter in front of every handler of a logger (Celery's root)."""
    for handler in (target or logging.getLogger()).handlers:
        if outage_log not in handler.filters:
            handler.filters.insert(0, outage_log)
