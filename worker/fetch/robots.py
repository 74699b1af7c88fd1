"""robots.txt per RFC 9309, fetched through the guarded fetcher and cached per site.

Rules: the groups naming our product token (else ``*``) are merged; the
longest matching path pattern wins, ``allow`` wins a tie; ``*`` and ``$`` are
supported. Fetch outcomes (RFC 9309 §2.3.1): 2xx parse; 4xx "unavailable" →
everything allowed; 5xx or no answer at all "unreachable" → everything
disallowed, asked again after a short while. Bodies beyond 500 KiB are
truncated, as the RFC allows.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from .client import Fetcher

MAX_ROBOTS_BYTES = 500 * 1024
UNREACHABLE_TTL = 600.0  # retry a failing robots.txt after 10 minutes
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


class RobotsCache:
    def __init__(self, fetcher: Fetcher, ttl: float) -> None:
        self._fetcher = fetcher
        self._ttl = ttl
        self._product = product_token(fetcher.settings.user_agent)
        self._cache: OrderedDict[str, tuple[float, Rules]] = OrderedDict()
        self._lock = threading.Lock()
        self._site_locks: dict[str, threading.Lock] = {}

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
            rules, ttl = self._fetch(site)
            with self._lock:
                self._cache[site] = (time.monotonic() + ttl, rules)
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

    def _fetch(self, site: str) -> tuple[Rules, float]:
        from .client import FetchError

        try:
            response = self._fetcher._get(
                site + "/robots.txt", etag=None, last_modified=None, accept="text/plain, */*",
                max_bytes=MAX_ROBOTS_BYTES, truncate=True,
            )
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return Rules(allow_all=True), self._ttl
            wait = exc.retry_after if exc.retry_after else UNREACHABLE_TTL
            return Rules(disallow_all=True), min(max(wait, 60.0), self._ttl)
        text = response.body.decode("utf-8", "replace").lstrip("\ufeff")
        return parse_robots(text, self._product), self._ttl
