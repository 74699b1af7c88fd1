"""Adaptive polling: how long to wait before the next poll of a source, from how fast
it publishes. Pure functions of the source, the settings and the source's state.

The estimate. Every successful poll counts the entries that are new to us since the
last one. Two exponentially weighted rates are kept from those counts: a long-run one
(horizon `slow_horizon`, a day) and a recent one (the entries of about the last
`fast_horizon`, half an hour). The pace is the larger of the two: a burst of breaking news
raises the recent rate at the first poll that sees it, and once the burst is over the
long-run rate, which still holds it, comes down over hours, not at once. An unknown
source starts from a prior of one entry per `reference` × `every`, so it is polled at
`every` until the polls say otherwise; the first poll, whose entries are a backlog and
not a rate, seeds the estimate from their published dates when those are believable.

The interval. For a given number of requests, the mean delay from publication to
detection over all entries is smallest when each source's interval is proportional to
1/sqrt(its rate) (minimise Σ rate·interval/2 under Σ 1/interval fixed). So a source
publishing one entry per `reference` × `every` is polled at `every`, four times as busy
at every/2, a hundred times quieter at every×10, within [min_every, max_every]. The
interval never grows by more than `growth` per poll (quiet feeds back off slowly) and
drops at once; a poll where every listed entry was new (the feed may have overflowed
between two polls) goes straight to min_every.

Failure backoff and server-asked waits (Cache-Control max-age, Retry-After, <ttl>) are
applied on top of this, in poll.next_poll_interval; a failed poll changes no estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from .models import Settings, Source
from .store import SourceState

# Defaults of the bounds when neither the source nor the settings set them.
MIN_EVERY_FACTOR = 1 / 5  # min_every = every / 5 (SPEC "Freshness")
MAX_EVERY_FACTOR = 6.0  # max_every = every × 6

# A published date is believed between these bounds around the poll's time; a feed with
# any date outside them (1970, next year) has its dates ignored altogether.
DATE_PAST = 365 * 86400.0
DATE_FUTURE = 600.0  # clock skew
MIN_DATED_ENTRIES = 3
MIN_DATE_SPREAD = 60.0  # every entry stamped with the same minute is not a history


@dataclass(frozen=True)
class PaceParams:
    """The policy's tunables (benchmarks/adaptive.py tunes them; see its --tune)."""

    # Tuned by `benchmarks/adaptive.py --tune` (8 days, its TUNE set): the lowest mean
    # delay with no more requests than fixed polling. growth is set, not tuned.
    reference: float = 3.5  # a source with one entry per reference × every is polled at every
    slow_horizon: float = 86400.0  # seconds: the long-run rate's memory
    fast_horizon: float = 1800.0  # seconds: the recent rate's memory
    growth: float = 1.5  # the interval grows by at most this factor per poll


PARAMS = PaceParams()


def bounds(source: Source, settings: Settings) -> tuple[float, float]:
    """(min_every, max_every) of a source: its own keys, else the global settings, else
    derived from its `every`; always min_every <= every <= max_every."""
    every = source.every
    low = source.min_every or settings.min_every or every * MIN_EVERY_FACTOR
    high = source.max_every or settings.max_every or every * MAX_EVERY_FACTOR
    return min(low, every), max(high, every)


def is_adaptive(source: Source, settings: Settings) -> bool:
    return settings.adaptive if source.adaptive is None else source.adaptive


def after_poll(state: SourceState, source: Source, settings: Settings, now: float, ok: bool,
               new: int, listed: list[datetime | None], params: PaceParams = PARAMS,
               ) -> tuple[SourceState, float]:
    """The state with this poll's observation, and the base interval to the next poll.

    `new` counts the entries new to us, `listed` the published dates of every entry the
    source listed (None where it gave none). A failed poll observes nothing and waits
    `every` (poll.next_poll_interval backs off from there).
    """
    if not ok:
        return state, source.every
    first = state.pace_since is None  # its entries are all new: a backlog, not an overflow
    state = observe(state, now, new, listed, params)
    if not is_adaptive(source, settings):
        return state, source.every
    low, high = bounds(source, settings)
    overflowed = not first and len(listed) >= 2 and new >= len(listed)
    interval = low if overflowed else choose_interval(state, source.every, low, high, params)
    return replace(state, pace_interval=interval), interval


def observe(state: SourceState, now: float, new: int, listed: Iterable[datetime | None],
            params: PaceParams = PARAMS) -> SourceState:
    """Add one successful poll to the rate estimates."""
    if state.pace_since is None:
        return seed(state, now, listed, params)
    elapsed = max(0.0, now - state.pace_since)
    return replace(
        state, pace_since=now, pace_span=state.pace_span + elapsed,
        pace_recent=_decay(state.pace_recent, elapsed, params.fast_horizon) + new,
        pace_longrun=_decay(state.pace_longrun, elapsed, params.slow_horizon) + new,
    )


def seed(state: SourceState, now: float, listed: Iterable[datetime | None],
         params: PaceParams = PARAMS) -> SourceState:
    """The first poll: its entries are a backlog, so their count says nothing about the
    rate, but their dates do when they are believable. Otherwise start from the prior."""
    stamps = believable_dates(listed, now)
    if not stamps:
        return replace(state, pace_since=now, pace_span=0.0, pace_recent=0.0, pace_longrun=0.0)
    oldest = min(stamps)
    # The window opens at the oldest listed entry: it and everything after it are listed.
    later = [now - stamp for stamp in stamps if stamp > oldest]
    return replace(
        state, pace_since=now, pace_span=now - oldest,
        pace_recent=sum(math.exp(-age / params.fast_horizon) for age in later),
        pace_longrun=sum(math.exp(-age / params.slow_horizon) for age in later),
    )


def believable_dates(listed: Iterable[datetime | None], now: float) -> list[float]:
    """The entries' published times as unix times, or [] when they cannot be trusted: any
    date far in the past or in the future, too few dates, or all within a minute."""
    stamps = []
    for date in listed:
        if date is None:
            continue
        try:
            stamp = date.timestamp()
        except (OverflowError, OSError, ValueError):
            return []
        if not now - DATE_PAST <= stamp <= now + DATE_FUTURE:
            return []
        stamps.append(min(stamp, now))
    if len(set(stamps)) < MIN_DATED_ENTRIES or max(stamps) - min(stamps) < MIN_DATE_SPREAD:
        return []
    return stamps


def rate(state: SourceState, every: float, params: PaceParams = PARAMS) -> float:
    """Entries per second: the larger of the long-run and the recent estimate."""
    reference = params.reference * every  # seconds per entry of the prior
    span = _weight(state.pace_span, params.slow_horizon)
    longrun = (state.pace_longrun + 1.0) / (span + reference)  # one prior entry
    # The recent rate counts its window as full: one entry alone is not yet a burst.
    recent = state.pace_recent / params.fast_horizon
    return max(longrun, recent)


def choose_interval(state: SourceState, every: float, low: float, high: float,
                    params: PaceParams = PARAMS) -> float:
    """every × sqrt(reference rate / rate), within [low, high], growing slowly."""
    target = every / math.sqrt(params.reference * every * rate(state, every, params))
    previous = state.pace_interval or every
    return min(max(min(target, previous * params.growth), low), high)


def _decay(value: float, elapsed: float, horizon: float) -> float:
    return value * math.exp(-elapsed / horizon)


def _weight(span: float, horizon: float) -> float:
    """How much observed time an estimate with this horizon holds after `span` seconds."""
    return horizon * -math.expm1(-span / horizon)
