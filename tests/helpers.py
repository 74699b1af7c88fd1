"""Builders shared by the test modules: `from helpers import ...`.

Fixtures live in conftest.py (pytest finds them by name); plain functions and classes live here,
because conftest is pytest's plugin file, not a module tests should import.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.alerts.sample import sample_alert
from worker.fetch import Fetcher, FetchResponse, NoLimit
from worker.models import Alert, Settings

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TRIPWIRE = TESTS / "tripwire"


# --------------------------------------------------------------- subprocesses (newswatch, celery)

def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a subprocess: the tripwire is loaded through sitecustomize."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TRIPWIRE), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.pop("NEWSWATCH_CONFIG", None)
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def newswatch_command() -> list[str]:
    return [sys.executable, "-m", "worker.cli"]


def run_newswatch(args: list[str], env: dict[str, str], cwd: Path,
                  timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        newswatch_command() + args, env=env, cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )


# --------------------------------------------------------------- assertions

def attributes(obj: object, expected: dict[str, object]) -> dict[str, object]:
    """The attributes of `obj` named by the keys of `expected`, to compare with it in one
    assert (a failure shows every field that differs)."""
    return {name: getattr(obj, name) for name in expected}


# --------------------------------------------------------------- fetching

def fetch_response(body: bytes, url: str = "https://news.example/feed", content_type: str | None = None,
                   **fields: Any) -> FetchResponse:
    """A 200 response as the fetcher would return it; `fields` override any other field
    (status=304, not_modified=True, etag=...)."""
    response = FetchResponse(
        url=url, status=200, headers={"content-type": content_type} if content_type else {},
        body=body, not_modified=False, etag=None, last_modified=None, elapsed_ms=1,
        content_type=content_type, max_age=None, retry_after=None,
    )
    return dataclasses.replace(response, **fields)


def loopback_fetcher(*, resolver: Any = None, ssl_context: Any = None, limiter: Any = None,
                     **settings: Any) -> Fetcher:
    """A Fetcher allowed to reach the loopback test servers, with no per-host pacing;
    `settings` override the Settings fields (fetch_timeout, max_body_bytes, user_agent...)."""
    values = {"allow_private_networks": True, "fetch_timeout": 10.0} | settings
    return Fetcher(Settings(**values), resolver=resolver, ssl_context=ssl_context,
                   limiter=limiter or NoLimit())


# --------------------------------------------------------------- alerts

def make_alert(alert_id: str = "alert-1", *, channel: str, **article_changes: object) -> Alert:
    """The sample alert bound for `channel`, with a fixed detection time and `article_changes`."""
    alert = sample_alert(channel)
    article = dataclasses.replace(alert.article, **article_changes)
    return dataclasses.replace(
        alert, id=alert_id, article=article, detected_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    )


# --------------------------------------------------------------- dispatchers (pipeline follow-ups)

class DropJobs:
    """A dispatcher for tests that run one pipeline step by hand: follow-up jobs are dropped."""

    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        pass


class RecordingDispatcher:
    """A dispatcher that keeps every job it is asked to run, in order, as (job, args, countdown).
    Safe to share between threads; each instance has its own list."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[object, ...], float]] = []
        self._lock = threading.Lock()

    def enqueue(self, job: str, *args: object, countdown: float = 0.0) -> None:
        with self._lock:
            self.jobs.append((job, args, countdown))


# A short story of sentence-length paragraphs, for parser tests that put furniture around it.
STORY_SENTENCES = (
    "The island council voted on Tuesday to keep the old harbour open through the winter.",
    "Fishing boats and the mail launch will share the inner basin until the spring repairs.",
    "Councillors had feared that storms would damage the breakwater before it was rebuilt.",
    "Engineers now say the wall can hold for one more season if the moorings are moved.",
    "The mail launch will sail twice a week instead of daily while the work is carried out.",
    "A public meeting on the repair plans is set for the first Monday of the new year.",
)
