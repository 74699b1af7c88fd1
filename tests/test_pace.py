"""Adaptive polling (worker/pace.py): pure policy tests, its config keys, and one real poll
against a local feed server showing a busy source due sooner and a quiet one later."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from worker import pace
from worker.config import ConfigError, load_config
from worker.models import Settings, Source
from worker.poll import next_poll_interval
from worker.store import SourceState

EVERY = 300.0
SOURCE = Source("s", "https://example.org/feed", every=EVERY)
SETTINGS = Settings()
LOW, HIGH = pace.bounds(SOURCE, SETTINGS)
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()


def polls(state: SourceState, news: list[int], start: float = T0, source: Source = SOURCE,
          settings: Settings = SETTINGS, listed: int = 20) -> tuple[SourceState, list[float]]:
    """Run successive polls, each `interval` after the last, seeing `news[i]` new entries."""
    now, intervals = start, []
    for new in news:
        state, interval = pace.after_poll(state, source, settings, now, ok=True, new=new,
                                          listed=[None] * listed)
        intervals.append(interval)
        now += interval
    return state, intervals


def started() -> SourceState:
    """A source past its first poll, with no dates to seed from."""
    state, intervals = polls(SourceState("s"), [20])
    assert intervals == [EVERY]
    return state


def test_default_bounds_are_a_fifth_and_six_times_every():
    assert (LOW, HIGH) == (60.0, 1800.0)
    assert pace.bounds(Source("f", "u", every=60), SETTINGS) == (12.0, 360.0)  # SPEC: every/5
    assert pace.bounds(Source("f", "u", every=10), SETTINGS) == (2.0, 60.0)
    own = Source("o", "u", every=EVERY, min_every=120, max_every=3600)
    assert pace.bounds(own, Settings(min_every=30, max_every=600)) == (120.0, 3600.0)
    assert pace.bounds(SOURCE, Settings(min_every=30, max_every=600)) == (30.0, 600.0)
    # global bounds that do not fit a source's every are widened to it
    assert pace.bounds(Source("d", "u", every=7200), Settings(max_every=3600)) == (1440.0, 7200.0)


def test_a_busy_source_is_polled_faster_down_to_min_every_and_no_further():
    _, intervals = polls(started(), [3] * 30)
    assert intervals[0] < EVERY
    assert intervals == sorted(intervals, reverse=True)
    assert min(intervals) == LOW


def test_a_quiet_source_backs_off_slowly_up_to_max_every_and_no_further():
    _, intervals = polls(started(), [0] * 200)
    assert intervals[0] <= EVERY * pace.PARAMS.growth
    growth = [later / earlier for earlier, later in itertools.pairwise(intervals)]
    assert max(growth) <= pace.PARAMS.growth + 1e-9
    assert max(intervals) == HIGH and intervals[-1] == HIGH


def test_a_burst_on_a_quiet_source_brings_the_next_poll_in_at_once():
    quiet, intervals = polls(started(), [0] * 200)
    assert intervals[-1] == HIGH
    _, after = polls(quiet, [4, 3, 0, 0, 0, 0])
    assert after[0] < EVERY, "the first poll that sees the burst"
    assert after[1] < after[0]
    # and when the burst is over it comes back down slowly, not in one step
    assert after[2] <= after[1] * pace.PARAMS.growth


def test_an_overflowing_feed_goes_straight_to_min_every():
    # every listed entry is new: entries may have scrolled off between the two polls
    _, intervals = polls(started(), [10], listed=10)
    assert intervals == [LOW]


def test_not_modified_polls_count_as_quiet_ones():
    state, _ = polls(started(), [0] * 5, listed=0)  # a 304 lists nothing
    assert state.pace_longrun == 0.0 and state.pace_span > 0
    assert state.pace_interval > EVERY


def test_a_failed_poll_changes_no_estimate_and_backs_off_from_every():
    state, _ = polls(started(), [3] * 10)
    after, interval = pace.after_poll(state, SOURCE, SETTINGS, T0 + 9999, ok=False, new=0, listed=[])
    assert after == state and interval == EVERY
    assert next_poll_interval(interval, failures=3, server_wait=0) == 4 * EVERY


def test_the_server_asked_wait_still_wins():
    state, _ = polls(started(), [3] * 30)
    assert state.pace_interval == LOW
    assert next_poll_interval(state.pace_interval, failures=0, server_wait=600) == 600


def test_adaptive_off_globally_or_per_source_polls_at_every():
    off = Settings(adaptive=False)
    _, intervals = polls(started(), [3] * 10, settings=off)
    assert set(intervals) == {EVERY}
    _, intervals = polls(started(), [3] * 10, source=Source("s", "u", every=EVERY, adaptive=False))
    assert set(intervals) == {EVERY}
    _, intervals = polls(started(), [3] * 30, settings=off,
                         source=Source("s", "u", every=EVERY, adaptive=True))
    assert min(intervals) == LOW


def dates(count: int, step: timedelta, newest: float = T0) -> list[datetime]:
    return [datetime.fromtimestamp(newest, UTC) - i * step for i in range(count)]


def test_the_first_poll_seeds_the_pace_from_believable_dates():
    busy, interval = pace.after_poll(SourceState("s"), SOURCE, SETTINGS, T0, ok=True, new=20,
                                     listed=dates(20, timedelta(minutes=2)))
    assert interval < EVERY / 2 and busy.pace_span == pytest.approx(19 * 120)
    _, interval = pace.after_poll(SourceState("s"), SOURCE, SETTINGS, T0, ok=True, new=10,
                                  listed=dates(10, timedelta(days=7)))
    assert interval > EVERY


@pytest.mark.parametrize("garbage", [
    [datetime(1970, 1, 1, tzinfo=UTC), *dates(9, timedelta(minutes=2))],  # one 1970 date
    dates(10, timedelta(minutes=2), newest=T0 + 86400 * 30),  # in the future
    dates(10, timedelta(seconds=0)),  # every entry stamped alike
    dates(2, timedelta(minutes=2)) + [None] * 8,  # too few dates
])
def test_a_pace_built_on_garbage_dates_falls_back_to_every(garbage):
    state, interval = pace.after_poll(SourceState("s"), SOURCE, SETTINGS, T0, ok=True,
                                      new=len(garbage), listed=garbage)
    assert interval == EVERY
    assert (state.pace_span, state.pace_longrun, state.pace_recent) == (0.0, 0.0, 0.0)


def test_config_keys_per_source_and_global(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "sources:\n"
        "  - {id: a, url: 'https://a.example/feed', every: 5m, min_every: 2m, max_every: 1h}\n"
        "  - {id: b, url: 'https://b.example/feed', adaptive: false}\n"
        "  - {id: c, url: 'https://c.example/feed'}\n"
        "settings: {adaptive: false, min_every: 1m, max_every: 2h}\n")
    config = load_config(path)
    a, b, c = config.sources
    assert (a.min_every, a.max_every, a.adaptive) == (120.0, 3600.0, None)
    assert b.adaptive is False and c.adaptive is None
    assert (config.settings.adaptive, config.settings.min_every, config.settings.max_every) == (
        False, 60.0, 7200.0)
    assert Settings().adaptive is True


def test_bounds_that_exclude_every_are_refused_with_their_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "sources:\n"
        "  - {id: a, url: 'https://a.example/feed', every: 5m, min_every: 10m}\n"
        "  - {id: b, url: 'https://b.example/feed', every: 5m, max_every: 1m}\n"
        "  - {id: c, url: 'https://c.example/feed', adaptive: sometimes}\n"
        "settings: {min_every: 1h, max_every: 10m}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = {(p.line, p.key) for p in caught.value.problems}
    assert problems == {(2, "sources[0].min_every"), (3, "sources[1].max_every"),
                        (4, "sources[2].adaptive"), (5, "settings.max_every")}


def test_state_written_before_adaptive_polling_still_loads():
    old = '{"source_id": "s", "etag": "x", "failures": 1}'
    assert SourceState.from_json(old) == SourceState("s", etag="x", failures=1)
    newer = '{"source_id": "s", "a_key_from_a_later_version": 1}'
    assert SourceState.from_json(newer) == SourceState("s")


# ----------------------------------------------------------------- a real poll


def rss(step: timedelta, count: int) -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>Item {i}</title><link>https://news.example/{step.seconds}/{i}</link>"
        f"<pubDate>{format_datetime(now - i * step)}</pubDate></item>" for i in range(count))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>").encode()


def test_a_busy_source_is_due_sooner_and_a_quiet_one_later_after_a_real_poll(tmp_path, empty_server):
    from test_pipeline_units import DropJobs

    from worker import poll
    from worker.models import Config
    from worker.runtime import Runtime

    feed = {"Content-Type": "application/rss+xml"}
    empty_server.routes["/wire"] = (200, feed, rss(timedelta(minutes=2), 20))
    empty_server.routes["/weekly"] = (200, feed, rss(timedelta(days=7), 10))
    sources = (Source("wire", empty_server.url("/wire"), every=EVERY),
               Source("weekly", empty_server.url("/weekly"), every=EVERY))
    config = Config(sources, (), (), Settings(state_path=str(tmp_path / "s.db"),
                                              allow_private_networks=True, per_host_interval=0.0))
    runtime = Runtime(config, DropJobs())
    try:
        due = {}
        for source in sources:
            before = time.time()
            assert poll.poll_source(runtime, source.id).status == "ok"
            due[source.id] = runtime.store.scheduled()[source.id] - before
        assert due["wire"] < EVERY / 2, due
        assert due["weekly"] > EVERY, due
        assert runtime.store.source_state("wire").pace_interval == pytest.approx(due["wire"], abs=5)
        # The same poll with adaptive polling off: both at every.
        runtime.config = Config(sources, (), (), Settings(
            state_path=str(tmp_path / "s.db"), allow_private_networks=True, per_host_interval=0.0,
            adaptive=False))
        for source in sources:
            before = time.time()
            poll.poll_source(runtime, source.id)
            assert runtime.store.scheduled()[source.id] - before == pytest.approx(EVERY, abs=5)
    finally:
        runtime.close()
