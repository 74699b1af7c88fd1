"""Adaptive polling against fixed `every:`, in simulated time, driving worker/pace.py.

    .venv/bin/python benchmarks/adaptive.py                 # the table, shipped parameters
    .venv/bin/python benchmarks/adaptive.py --tune          # grid-search the parameters first
    .venv/bin/python benchmarks/adaptive.py --population 300 --days 15

Simulated sources publish by patterns (a wire every ~2 min, a diurnal newsroom, a quiet
feed with bursts of breaking news, a daily blog, a weekly feed, a dormant feed that
wakes up for a day, and the issue's population: Poisson rates log-uniform from one a
minute to one a week). Each feed lists its newest `FEED_LENGTH` entries with their dates.
Every source is polled twice over the same publications: at its fixed `every` (5 min)
from a random phase, and by the policy (pace.after_poll, the function poll_source
calls) from the same phase. Nothing sleeps: time is a number.

Measured after a one-day warm-up: detection delay (publication -> the poll that lists
it) mean and p95 over entries, entries never seen (pushed off the feed between two
polls), and requests per source per day.

Honest tuning: --tune picks the parameters on the TUNE set only: patterns wire,
newsroom, daily, weekly (seeds 1-4) and a population of `--tune-population` Poisson
sources (seed 1). Objective: the lowest mean delay over all the set's entries with no
more requests than fixed polling on the same set. The HELD-OUT rows are seeds it never
saw (101-104, and the population's seed 101) and patterns it never saw (breaking,
dormant).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from worker import pace
from worker.models import Settings, Source
from worker.store import SourceState

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
EVERY = 5 * MINUTE
FEED_LENGTH = 20
WARM_UP = DAY
EPOCH = datetime(2026, 11, 2, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC

Pattern = Callable[[random.Random, float], list[float]]


# --------------------------------------------------------------------------- patterns


def poisson(rng: random.Random, rate: float, start: float, end: float) -> list[float]:
    times, t = [], start
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return times
        times.append(t)


def wire(rng: random.Random, end: float) -> list[float]:
    return poisson(rng, 1 / (2 * MINUTE), 0, end)


def newsroom(rng: random.Random, end: float) -> list[float]:
    """Diurnal: ~8 an hour at 13:00, ~0.4 at 01:00 (thinned Poisson)."""
    peak = 8 / HOUR
    return [t for t in poisson(rng, peak, 0, end)
            if rng.random() < 0.05 + 0.95 * (0.5 - 0.5 * math.cos(2 * math.pi * (t % DAY - HOUR) / DAY))]


def breaking(rng: random.Random, end: float) -> list[float]:
    """Four a day, plus a burst every ~3 days: a dozen entries in about 40 minutes."""
    times = poisson(rng, 4 / DAY, 0, end)
    for start in poisson(rng, 1 / (3 * DAY), 0, end):
        t = start
        for _ in range(12):
            times.append(t)
            t += rng.expovariate(1 / (200.0))
    return sorted(t for t in times if t < end)


def daily(rng: random.Random, end: float) -> list[float]:
    return sorted(day * DAY + 9 * HOUR + rng.gauss(0, HOUR) for day in range(int(end // DAY)))


def weekly(rng: random.Random, end: float) -> list[float]:
    offset = rng.uniform(0, 7 * DAY)
    return [t for t in (offset + week * 7 * DAY for week in range(int(end // (7 * DAY)) + 1))
            if t < end]


def dormant(rng: random.Random, end: float) -> list[float]:
    """A handful of old posts, silent for days, then one every ~10 minutes for a day."""
    wake = rng.uniform(0.4, 0.7) * end
    return poisson(rng, 1 / (2 * DAY), 0, 2 * DAY) + poisson(rng, 1 / (10 * MINUTE), wake, wake + DAY)


def population_source(index: int) -> Pattern:
    def pattern(rng: random.Random, end: float) -> list[float]:
        rate = math.exp(rng.uniform(math.log(1 / (7 * DAY)), math.log(1 / MINUTE)))
        return poisson(rng, rate, 0, end)
    pattern.__name__ = f"population-{index}"
    return pattern


TUNE_PATTERNS = {"wire": wire, "newsroom": newsroom, "daily": daily, "weekly": weekly}
HELD_OUT_PATTERNS = {"breaking": breaking, "dormant": dormant}
TUNE_SEEDS = range(1, 5)
HELD_OUT_SEEDS = range(101, 105)


# --------------------------------------------------------------------------- simulation


@dataclass
class Outcome:
    delays: list[float] = field(default_factory=list)
    missed: int = 0
    polls: int = 0
    sources: int = 0
    days: float = 0.0

    def add(self, other: Outcome) -> None:
        self.delays += other.delays
        self.missed += other.missed
        self.polls += other.polls
        self.sources += other.sources
        self.days = other.days

    @property
    def mean(self) -> float:
        return statistics.fmean(self.delays) if self.delays else 0.0

    @property
    def p95(self) -> float:
        if len(self.delays) < 2:
            return self.mean
        return statistics.quantiles(self.delays, n=20, method="inclusive")[-1]

    @property
    def per_day(self) -> float:
        return self.polls / self.sources / self.days if self.sources else 0.0


def simulate(pubs: list[float], end: float, phase: float,
             interval: Callable[[float, int, int, list[float]], float]) -> Outcome:
    """Poll a feed publishing at `pubs` from `phase` to `end`; `interval(t, new, listed,
    listed_times)` says how long to wait after the poll at t."""
    outcome = Outcome(sources=1, days=(end - WARM_UP) / DAY)
    seen = 0  # pubs[:seen] have been listed by a poll (or fell off the feed unseen)
    t = phase
    while t < end:
        published = bisect.bisect_right(pubs, t)
        listed_from = max(0, published - FEED_LENGTH)
        new = published - max(seen, listed_from)
        for index in range(seen, published):
            if pubs[index] < WARM_UP:
                continue
            if index < listed_from:
                outcome.missed += 1
            else:
                outcome.delays.append(t - pubs[index])
        seen = published
        if t >= WARM_UP:
            outcome.polls += 1
        t += interval(t, new, published - listed_from, pubs[listed_from:published])
    return outcome


def fixed(pubs: list[float], end: float, phase: float) -> Outcome:
    return simulate(pubs, end, phase, lambda t, new, listed, times: EVERY)


def adaptive(pubs: list[float], end: float, phase: float, params: pace.PaceParams) -> Outcome:
    source, settings = Source("sim", "https://example.org/feed", every=EVERY), Settings()
    state = SourceState("sim")

    def interval(t: float, new: int, listed: int, times: list[float]) -> float:
        nonlocal state
        # Only the first poll reads the dates (pace.seed); later polls need their number.
        dates = [datetime.fromtimestamp(EPOCH + p, UTC) for p in times] \
            if state.pace_since is None else [None] * listed
        state, chosen = pace.after_poll(state, source, settings, EPOCH + t, ok=True, new=new,
                                        listed=dates, params=params)
        return chosen

    return simulate(pubs, end, phase, interval)


def run(patterns: dict[str, Pattern], seeds: range, days: float,
        params: pace.PaceParams) -> dict[str, tuple[Outcome, Outcome]]:
    """pattern name -> (fixed, adaptive) outcomes pooled over its seeds."""
    end = days * DAY
    results: dict[str, tuple[Outcome, Outcome]] = {}
    for name, pattern in patterns.items():
        pooled = (Outcome(), Outcome())
        for seed in seeds:
            rng = random.Random(f"{name}-{seed}")
            pubs = pattern(rng, end)
            phase = rng.uniform(0, EVERY)
            pooled[0].add(fixed(pubs, end, phase))
            pooled[1].add(adaptive(pubs, end, phase, params))
        results[name] = pooled
    return results


def population(count: int, seed: int, days: float, params: pace.PaceParams) -> tuple[Outcome, Outcome]:
    sources = {f"population-{i}": population_source(i) for i in range(count)}
    return pooled(run(sources, range(seed, seed + 1), days, params))


# --------------------------------------------------------------------------- tuning


def tuning_set(days: float, population_size: int,
               params: pace.PaceParams) -> dict[str, tuple[Outcome, Outcome]]:
    results = run(TUNE_PATTERNS, TUNE_SEEDS, days, params)
    results["population"] = population(population_size, TUNE_SEEDS.start, days, params)
    return results


def score(results: dict[str, tuple[Outcome, Outcome]]) -> tuple[float, float]:
    """(adaptive/fixed mean delay over all entries, adaptive/fixed requests)."""
    fixed_total, adaptive_total = pooled(results)
    return adaptive_total.mean / fixed_total.mean, adaptive_total.polls / fixed_total.polls


def tune(days: float, population_size: int) -> pace.PaceParams:
    """Grid-search reference and the two horizons. `growth` is not searched: the
    objective (mean delay over all entries) hardly sees it, as quiet sources carry few
    entries; it is set by the "back off slowly" rule (a coarser search over 1.25-2 moved
    the objective by less than 0.5%)."""
    grid = itertools.product((3.0, 3.5, 4.0, 4.5, 5.0), (43200.0, 86400.0), (1800.0, 3600.0))
    best: tuple[float, pace.PaceParams] | None = None
    for reference, slow, fast in grid:
        params = pace.PaceParams(reference, slow, fast, pace.PARAMS.growth)
        delay, requests = score(tuning_set(days, population_size, params))
        print(f"  reference={reference:g} slow={slow / HOUR:g}h fast={fast / MINUTE:g}m: "
              f"delay x{delay:.3f}, requests x{requests:.3f}", flush=True)
        if requests <= 1.0 and (best is None or delay < best[0]):
            best = (delay, params)
    if best is None:
        raise SystemExit("no parameters keep the requests at or below fixed polling")
    print(f"best: {best[1]} (delay x{best[0]:.3f})")
    return best[1]


# --------------------------------------------------------------------------- report


def row(label: str, pair: tuple[Outcome, Outcome]) -> str:
    f, a = pair
    return (f"| {label} | {f.mean / 60:.1f} / {f.p95 / 60:.1f} | {a.mean / 60:.1f} / {a.p95 / 60:.1f}"
            f" | x{a.mean / f.mean if f.mean else 0:.2f} | {f.per_day:.0f} | {a.per_day:.0f}"
            f" | x{a.polls / f.polls:.2f} | {f.missed} / {a.missed} |")


def pooled(results: dict[str, tuple[Outcome, Outcome]]) -> tuple[Outcome, Outcome]:
    total = (Outcome(), Outcome())
    for fixed_outcome, adaptive_outcome in results.values():
        total[0].add(fixed_outcome)
        total[1].add(adaptive_outcome)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=8.0, help="simulated days (first one is warm-up)")
    parser.add_argument("--population", type=int, default=1000,
                        help="sources in the held-out Poisson population (seed 101)")
    parser.add_argument("--tune-population", type=int, default=100,
                        help="Poisson sources in the tuning set (seed 1)")
    parser.add_argument("--tune", action="store_true", help="grid-search the parameters on TUNE first")
    args = parser.parse_args()
    started = time.process_time()
    params = tune(args.days, args.tune_population) if args.tune else pace.PARAMS
    print(f"every = {EVERY / 60:g} min for every source; policy {params}; "
          f"bounds {pace.bounds(Source('s', 'u', every=EVERY), Settings())}; "
          f"{args.days:g} days, first one warm-up; feeds list {FEED_LENGTH} entries\n")
    header = ("| pattern | fixed delay mean / p95 (min) | adaptive mean / p95 (min) | delay ratio"
              " | fixed req/source/day | adaptive req/source/day | request ratio | missed fixed / adaptive |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- |")
    tuned = tuning_set(args.days, args.tune_population, params)
    print(f"TUNED ON (patterns {', '.join(TUNE_PATTERNS)}, seeds {TUNE_SEEDS.start}-{TUNE_SEEDS.stop - 1}; "
          f"population of {args.tune_population}, seed {TUNE_SEEDS.start})")
    print(header)
    for name, pair in tuned.items():
        print(row(name, pair))
    print(row("**all tuned**", pooled(tuned)))
    print(f"\nHELD OUT (seeds {HELD_OUT_SEEDS.start}-{HELD_OUT_SEEDS.stop - 1}; "
          f"patterns {', '.join(HELD_OUT_PATTERNS)} and the population never tuned on)")
    print(header)
    held = run({**TUNE_PATTERNS, **HELD_OUT_PATTERNS}, HELD_OUT_SEEDS, args.days, params)
    for name, pair in held.items():
        print(row(name + ("" if name in HELD_OUT_PATTERNS else " (new seeds)"), pair))
    held["population"] = population(args.population, HELD_OUT_SEEDS.start, args.days, params)
    print(row(f"population of {args.population} (1/min..1/week)", held["population"]))
    print(row("**all held-out**", pooled(held)))
    tuned_score, held_score = score(tuned), score(held)
    print(f"\ndelay ratio over all entries: tuned x{tuned_score[0]:.2f}, held-out x{held_score[0]:.2f}; "
          f"request ratio: tuned x{tuned_score[1]:.2f}, held-out x{held_score[1]:.2f}; "
          f"cpu {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
