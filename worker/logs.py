"""Log lines people read: one `key=value` summary per task, JSON on request, no secrets.

`LOG_FORMAT=json` gives one JSON object per line. Every record passes through a
redaction filter that knows the configured secrets and masks URL passwords, so a
secret cannot reach a log line even through an exception message.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

from .alerts.redact import MASK
from .alerts.redact import redact as redact_secrets

logger = logging.getLogger("newswatch")

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_SECRETS: set[str] = set()


def register_secrets(secrets: Iterable[str]) -> None:
    """Remember values to mask in every log line from now on."""
    _SECRETS.update(s for s in secrets if s and len(s) >= 3)


def redact(text: str) -> str:
    """Mask URL passwords and every registered secret (the alert senders' rule, redact_secrets)."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return redact_secrets(text, _SECRETS)


def _value(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


def format_fields(fields: dict[str, Any]) -> str:
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message)
        record.args = ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        fields = getattr(record, "fields", None)
        if fields:
            record.fields = {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str | None = None, log_format: str | None = None) -> None:
    """Configure the root logger once: plain or JSON lines on stderr, redacted."""
    log_format = (log_format or os.environ.get("LOG_FORMAT") or "plain").lower()
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
        )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_newswatch", False):
            root.removeHandler(existing)
    # The mark lets a later setup_logging() replace this handler and leave others' alone;
    # logging.Handler declares no such attribute.
    handler._newswatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("LOG_LEVEL") or "INFO").upper())
    # Libraries that log every request at INFO drown the summary lines.
    for noisy in ("urllib3", "charset_normalizer", "trafilatura"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def install_redaction(target: logging.Logger | None = None) -> None:
    """Add the redaction filter to every handler of a logger (e.g. Celery's own)."""
    for handler in (target or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def summary(task: str, level: int = logging.INFO, **fields: Any) -> None:
    """The one line a task logs when it ends: `task=poll_source source=… status=ok … ms=312`."""
    ordered = {"task": task, **fields}
    logger.log(level, format_fields(ordered), extra={"fields": ordered})


def ms_since(started: float) -> int:
    """Milliseconds since `started` (a time.monotonic() reading), for a summary line's `ms`."""
    return int((time.monotonic() - started) * 1000)
