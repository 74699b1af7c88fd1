"""robots.txt per RFC 9309, fetched through the guarded fetcher and cached per site.

Rules: the groups naming our product token (else ``*``) are merged; the
longest matching path pattern wins, ``allow`` wins a tie; ``*`` and ``$`` are
supported. Fetch outcomes (RFC 9309 §2.3.1): 2xx parse; 4xx "unavailable" →
everything allowed; 5xx or no answer at all "unreachable" → everything
disallowed, asked again after a short while. Bodies beyond 500 KiB are
truncated, as the RFC allows.

A fetched robots.txt is kept for its Cache-Control max-age (1 hour without one),
held between 10 minutes and 24 hours, in this process and, when the fetcher has
a store, in the store for every other process too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from .client import Fetcher

log = logging.getLogger("newswatch")

MAX_ROBOTS_BYTES = 500 * 1024
UNREACHABLE_TTL = 600.0  # retry a failing robots.txt after 10 minutes
DEFAULT_TTL = 3600.0  # a robots.txt without Cache-Control max-age is trusted an hour
MIN_TTL = 600.0  # even "no-cache" is not fetched again before every poll
MAX_TTL = 24 * 3600.0  # RFC 9309 §2.4: no cached copy is used for more than 24 hours
_MAX_SITES = 10_000


def _normalise_path(path: str) -> str:
    """Percent-encode consistently so /a%7eb and /a~b compare equal (RFC 9309 §2.2.2)."""
    return quote(unquote(path), safe="/?=&;:@!$'()*+,-._~%")


@dataclass
class Rules:
    """The rules of one robots.txt that apply to our user agent."""

    rules: list[tuple[int, bool, re.Pattern[str]]] = field(default_factory=list)
    allow_all: bool = False
    disallow_all: bool = False
    crawl_delay: float | None = None

    def allowed(self, path: str) -> bool:
        if self.allow_all:
            return True
        if self.disallow_all:
            return False
        if path.split("?", 1)[0] == "/robots.txt":
            return True
        path = _normalise_path(path)
        best: tuple[int, bool] | None = None
        for length, allow, pattern in self.rules:
            if pattern.match(path) and (best is None or (length, allow) > best):
                best = (length, allow)
        return True if best is None else best[1]


def _compile(pattern: str) -> re.Pattern[str]:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in _normalise_path(body).split("*"))
    return re.compile(regex + ("$" if anchored else ""), re.DOTALL)


def parse_robots(text: str, product: str) -> Rules:
    """Rules for ``product`` (e.g. "newswatch") from a robots.txt body."""
    product = product.lower()
    groups: list[tuple[set[str], list[tuple[str, str]]]] = []
    agents: set[str] = set()
    lines: list[tuple[str, str]] = []
    in_rules = False
    for raw in text.splitlines()[:20_000]:
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if in_rules:  # a user-agent after rules starts a new group
                groups.append((agents, lines))
                agents, lines, in_rules = set(), [], False
            agents.add(value.lower())
        elif key in ("allow", "disallow", "crawl-delay"):
            in_rules = True
            if agents:
                lines.append((key, value))
    if agents:
        groups.append((agents, lines))

    chosen = [rules for names, rules in groups if any(_agent_matches(n, product) for n in names)]
    if not chosen:
        chosen = [rules for names, rules in groups if "*" in names]
    result = Rules()
    for rules in chosen:
        for key, value in rules:
            if key == "crawl-delay":
                with contextlib.suppress(ValueError):
                    result.crawl_delay = max(result.crawl_delay or 0.0, float(value))
            elif value and value.startswith(("/", "*")):  # empty Disallow means allow all
                result.rules.append((len(value), key == "allow", _compile(value)))
    return result


def _agent_matches(name: str, product: str) -> bool:
    # RFC 9309: match the product token case-insensitively; allow "newswatch/1.0" too.
    return name == product or name.split("/", 1)[0].strip() == product


def product_token(user_agent: str) -> str:
    token = re.match(r"[A-Za-z_-]+", user_agent.strip())
    return token.group(0).lower() if token else "*"


class SharedRobots(Protocol):
    """Where processes share robots.txt records: the store (Redis or SQLite) fits."""

    def robots_txt(self, site: str) -> str | None: ...

    def save_robots_txt(self, site: str, record: str, ttl: float) -> None: ...

    def try_lock(self, name: str, token: str, ttl: float) -> bool: ...

    def unlock(self, name: str, token: str) -> None: ...


@dataclass(frozen=True)
class RobotsRecord:
    """One site's robots.txt as fetched, the form processes share through the store.

    ``outcome`` is RFC 9309's: "ok" (2xx: ``body`` applies), "unavailable" (4xx:
    everything allowed) or "unreachable" (5xx or no answer: everything disallowed).
    """

    outcome: str
    body: str = ""
    expires_at: float = 0.0  # wall-clock time, so every process agrees on it

    def rules(self, product: str) -> Rules:
        if self.outcome == "ok":
            return parse_robots(self.body, product)
        return Rules(allow_all=True) if self.outcome == "unavailable" else Rules(disallow_all=True)

    def to_json(self) -> str:
        return json.dumps({"outcome": self.outcome, "body": self.body, "expires_at": self.expires_at})

    @classmethod
    def from_json(cls, text: str) -> RobotsRecord | None:
        """The record, or None for anything that is not one (then the site is fetched again)."""
        try:
            data = json.loads(text)
            record = cls(str(data["outcome"]), str(data.get("body", "")), float(data["expires_at"]))
        except (ValueError, TypeError, KeyError):
            return None
        return record if record.outcome in ("ok", "unavailable", "unreachable") else None


def robots_ttl(max_age: float | None, default: float) -> float:
    """How long a fetched robots.txt is trusted: the server's max-age, within sane bounds."""
    wanted = default if max_age is None else max_age
    return min(max(wanted, MIN_TTL), MAX_TTL)


class RobotsCache:
    """The rules for each site: in this process first, then the shared store, then a fetch.

    Every process polling a site used to fetch its robots.txt itself; with a store
    behind the cache one process fetches it (the others wait briefly on a lock for
    that fetch) and all reuse the record until it expires. The store only saves
    work: when it fails, the cache fetches as it would without one.
    """

    def __init__(self, fetcher: Fetcher, ttl: float = DEFAULT_TTL, shared: SharedRobots | None = None) -> None:
        self._fetcher = fetcher
        self._ttl = ttl
        self._shared = shared
        self._product = product_token(fetcher.settings.user_agent)
        self._cache: OrderedDict[str, tuple[float, Rules]] = OrderedDict()
        self._lock = threading.Lock()
        self._site_locks: dict[str, threading.Lock] = {}
        # Long enough for one robots.txt fetch (the watchdog ends it at fetch_timeout).
        self._single_flight = fetcher.settings.fetch_timeout + 5.0

    def rules_for(self, url: str) -> Rules:
        parts = urlsplit(url)
        site = f"{parts.scheme.lower()}://{parts.netloc.lower().rsplit('@', 1)[-1]}"
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(site)
            if hit and hit[0] > now:
                return hit[1]
            site_lock = self._site_locks.setdefault(site, threading.Lock())
        with site_lock:  # one fetch per site even when many threads ask at once
            with self._lock:
                hit = self._cache.get(site)
                if hit and hit[0] > time.monotonic():
                    return hit[1]
            record = self._record(site)
            rules = record.rules(self._product)
            fresh_for = max(0.0, record.expires_at - time.time())
            with self._lock:
                self._cache[site] = (time.monotonic() + fresh_for, rules)
                self._cache.move_to_end(site)
                while len(self._cache) > _MAX_SITES:
                    self._cache.popitem(last=False)
                self._site_locks.pop(site, None)
        return rules

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            return False
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return self.rules_for(url).allowed(path)

    # -- the shared record ----------------------------------------------------------------

    def _record(self, site: str) -> RobotsRecord:
        if self._shared is None:
            return self._fetch(site)
        record = self._read_shared(site)
        if record is not None:
            return record
        name, token = f"robots:{site}", uuid.uuid4().hex
        try:
            mine = self._shared.try_lock(name, token, self._single_flight)
        except Exception as error:  # noqa: BLE001 - a store outage must not fail the robots check
            log.warning("robots.txt: store unavailable, fetching %s/robots.txt here: %s", site, error)
            return self._fetch(site)
        if not mine:  # another process is fetching it: wait for its record
            record = self._wait_for_shared(site, time.monotonic() + self._single_flight)
            if record is not None:
                return record
        try:
            record = self._read_shared(site) or self._fetch(site)
            self._write_shared(site, record)
            return record
        finally:
            if mine:
                self._forget_lock(name, token)

    def _read_shared(self, site: str) -> RobotsRecord | None:
        assert self._shared is not None
        try:
            text = self._shared.robots_txt(site)
        except Exception as error:  # noqa: BLE001 - same: the store only saves work
            log.warning("robots.txt: cannot read the shared copy for %s: %s", site, error)
            return None
        record = RobotsRecord.from_json(text) if text is not None else None
        return record if record is not None and record.expires_at > time.time() else None

    def _write_shared(self, site: str, record: RobotsRecord) -> None:
        assert self._shared is not None
        ttl = record.expires_at - time.time()
        if ttl <= 0:
            return
        try:
            self._shared.save_robots_txt(site, record.to_json(), ttl)
        except Exception as error:  # noqa: BLE001 - same: the store only saves work
            log.warning("robots.txt: cannot share the copy for %s: %s", site, error)

    def _forget_lock(self, name: str, token: str) -> None:
        assert self._shared is not None
        try:
            self._shared.unlock(name, token)
        except Exception as error:  # noqa: BLE001 - it expires by itself
            log.warning("robots.txt: cannot release %s: %s", name, error)

    def _wait_for_shared(self, site: str, deadline: float) -> RobotsRecord | None:
        # The holder needs one fetch; poll its result with a growing pause, then give up
        # and fetch here (the holder may have died: its lock runs out by itself).
        pause = 0.01
        while time.monotonic() < deadline:
            record = self._read_shared(site)
            if record is not None:
                return record
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
        return None

    # -- the fetch --------------------------------------------------------------------------

    def _fetch(self, site: str) -> RobotsRecord:
        from .client import FetchError

        try:
            response = self._fetcher.get_truncated(
                site + "/robots.txt", accept="text/plain, */*", max_bytes=MAX_ROBOTS_BYTES)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return RobotsRecord("unavailable", expires_at=time.time() + self._ttl)
            wait = exc.retry_after if exc.retry_after else UNREACHABLE_TTL
            return RobotsRecord("unreachable", expires_at=time.time() + min(max(wait, 60.0), self._ttl))
        text = response.body.decode("utf-8", "replace").lstrip("\ufeff")
        return RobotsRecord("ok", text, time.time() + robots_ttl(response.max_age, self._ttl))
