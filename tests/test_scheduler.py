"""The due-queue scheduler: sources due from the store, config edits live, no double scheduling."""

from __future__ import annotations

import threading
from collections import Counter

import yaml
from helpers import RecordingDispatcher
from processes import NewswatchRun
from servers import HTTPServer, wait_for

from worker import schedule
from worker.models import Config, Settings, Source
from worker.runtime import Runtime


def test_two_schedulers_never_hand_out_the_same_source_twice(redis_url):
    sources = tuple(Source(id=f"s{i}", url=f"https://example.org/{i}", every=300) for i in range(50))
    config = Config(sources, (), (), Settings(redis_url=redis_url))
    recorders = [RecordingDispatcher(), RecordingDispatcher()]
    runtimes = [Runtime(config, recorder) for recorder in recorders]
    barrier = threading.Barrier(2)

    def beat(runtime: Runtime) -> None:
        barrier.wait()
        for _ in range(30):
            schedule.tick(runtime)

    threads = [threading.Thread(target=beat, args=(rt,)) for rt in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    polls = Counter(args[0] for r in recorders for job, args, _ in r.jobs if job == "poll_source")
    assert set(polls) == {s.id for s in sources}
    assert max(polls.values()) == 1, "a source was scheduled twice"
    for runtime in runtimes:
        runtime.close()


def test_config_edits_take_effect_without_a_restart(tmp_path):
    site = HTTPServer().start()
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    site.routes["/a"] = site.routes["/b"] = (200, {"Content-Type": "application/rss+xml"}, feed)
    config_file = tmp_path / "newswatch.yaml"

    def write(source_ids: list[str]) -> None:
        config_file.write_text(yaml.safe_dump({
            "sources": [{"id": s, "url": site.url(f"/{s}"), "every": "1h"} for s in source_ids],
            "settings": {"state_path": str(tmp_path / "state.db"), "tick_every": "200ms",
                         "allow_private_networks": True},
        }))

    write(["a"])
    run = NewswatchRun(config_file, tmp_path)
    try:
        wait_for(lambda: "source=a status=ok" in run.log(), timeout=30,
                 what="the first source polled")
        write(["a", "b"])
        wait_for(lambda: "source=b status=ok" in run.log(), timeout=30,
                 what="the added source polled after the edit")
        config_file.write_text("sources: [this is not valid")
        wait_for(lambda: "config change ignored" in run.log(), timeout=30,
                 what="the invalid edit to be refused")
        assert run.running(), "an invalid edit must not stop the worker"
    finally:
        run.stop()
        site.stop()
    text = run.log()
    assert text.count("source=a status=ok") == 1, "every: 1h — polled once"
    assert "config reloaded: 2 sources" in text


def test_continuous_mode_logs_one_cycle_line_per_period(tmp_path):
    site = HTTPServer().start()
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    site.routes["/a"] = (200, {"Content-Type": "application/rss+xml"}, feed)
    config_file = tmp_path / "newswatch.yaml"
    config_file.write_text(yaml.safe_dump({
        "sources": [{"id": "a", "url": site.url("/a"), "every": "1s"}],
        "settings": {"state_path": str(tmp_path / "state.db"), "tick_every": "200ms",
                     "cycle_log_every": "2s", "allow_private_networks": True},
    }))
    run = NewswatchRun(config_file, tmp_path)
    try:
        wait_for(lambda: run.log().count("task=cycle") >= 2, timeout=30, what="two cycle lines")
    finally:
        run.stop()
        site.stop()
    cycles = [line for line in run.log().splitlines() if "task=cycle" in line]
    assert all("period_s=2" in line and "sources=1" in line for line in cycles)
    assert any("polled=" in line and "polled=0" not in line for line in cycles)


def test_a_source_due_before_the_middle_of_the_next_tick_is_handed_out_now(tmp_path):
    sources = (Source(id="soon", url="https://example.org/a", every=300),
               Source(id="later", url="https://example.org/b", every=300))
    config = Config(sources, (), (), Settings(state_path=str(tmp_path / "state.db"), tick_every=10.0))
    recorder = RecordingDispatcher()
    runtime = Runtime(config, recorder)
    try:
        runtime.store.schedule_new("soon", 1_000.0 + 4.0)   # before now + tick/2
        runtime.store.schedule_new("later", 1_000.0 + 6.0)  # after it: the next tick's
        schedule.tick(runtime, now=1_000.0)
        assert [args[0] for job, args, _ in recorder.jobs if job == "poll_source"] == ["soon"]
    finally:
        runtime.close()


def test_the_next_due_time_counts_from_the_hand_out_not_from_the_queue():
    from worker.poll import next_due_at

    # Handed out at 1000, run at 1004 after waiting for a worker: due again at 1300, not 1304.
    assert next_due_at(1_000.0, 1_004.0, 300.0, catch_up=5.0) == 1_300.0
    # Waited far longer (the workers are behind): no catching up, a whole interval from the run.
    assert next_due_at(1_000.0, 1_250.0, 300.0, catch_up=5.0) == 1_545.0
    # Run without a hand-out (the CLI's `poll`): from its start.
    assert next_due_at(None, 1_004.0, 300.0, catch_up=5.0) == 1_304.0
