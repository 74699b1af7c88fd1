"""The poll keeps every parsed article in history; a dead history store changes nothing else."""

from __future__ import annotations

import logging
import socket

from helpers import DropJobs
from scenario import AFP_TEXT, wire_feed
from servers import HTTPServer

from worker import poll, schedule
from worker.history import open_history
from worker.models import Channel, Config, Settings, Source, Topic
from worker.runtime import Runtime


def two_item_feed(base: str) -> bytes:
    first = wire_feed(base, "a", "Armenia dan Azerbaijan", AFP_TEXT).decode()
    second = wire_feed(base, "b", "Harga cabai naik", "Harga cabai di pasar naik lagi.").decode()
    item = slice(first.index("<item>"), first.index("</item>") + 7)
    other = second[second.index("<item>"):second.index("</item>") + 7]
    return first.replace(first[item], first[item] + other).encode()


def run_poll(tmp_path, **settings):
    site = HTTPServer().start()
    base = f"http://127.0.0.1:{site.port}"
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, two_item_feed(base))
    topic = Topic("t", "T", "armenia AND azerbaijan", channels=("hook", "hook2"))
    config = Config((Source("s", f"{base}/feed"),), (topic,),
                    (Channel("hook", "webhook", {"url": f"{base}/hook"}),
                     Channel("hook2", "webhook", {"url": f"{base}/hook2"})),
                    Settings(state_path=str(tmp_path / "s.db"), allow_private_networks=True,
                             per_host_interval=0.0, **settings))
    runtime = Runtime(config, DropJobs())
    try:
        return config, poll.poll_source(runtime, "s")
    finally:
        runtime.close()
        site.stop()


def test_every_parsed_article_is_kept_with_its_matches_and_alert_ids(tmp_path):
    config, result = run_poll(tmp_path)
    assert (result.status, result.new, result.matched, result.alerts) == ("ok", 2, 1, 2)
    history = open_history(config.settings)
    try:
        kept = {s.article.title: s for s in history.articles(0)}
        assert set(kept) == {"Armenia dan Azerbaijan", "Harga cabai naik"}
        matched = kept["Armenia dan Azerbaijan"]
        assert [m["topic"] for m in matched.matches] == ["t"]
        assert len(matched.alerts["t"]) == 2  # one per channel
        assert kept["Harga cabai naik"].matches == [] and kept["Harga cabai naik"].alerts == {}
        assert "Rusia" in matched.article.text  # the full text is kept
        assert history.alerted_articles("t", 0) == {matched.article.id}
    finally:
        history.close()


def test_a_dead_history_store_logs_one_warning_and_the_poll_still_alerts(tmp_path, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    caplog.set_level(logging.WARNING)
    _, result = run_poll(tmp_path, database_url=f"postgresql://nobody@127.0.0.1:{port}/none")
    assert (result.status, result.new, result.matched, result.alerts) == ("ok", 2, 1, 2)
    warnings = [r for r in caplog.records if r.name == "newswatch.history"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_history_off_keeps_nothing(tmp_path):
    config, result = run_poll(tmp_path, history=0.0)
    assert result.alerts == 2
    history = open_history(config.settings)
    try:
        assert history.count() == 0
    finally:
        history.close()


def test_the_tick_deletes_expired_history_in_bounded_batches(tmp_path, monkeypatch):
    import time

    from worker.history import guard
    from worker.models import Article

    monkeypatch.setattr(guard, "EXPIRE_BATCH", 2)
    config = Config((), (), (), Settings(state_path=str(tmp_path / "s.db"), history=30 * 86400.0))
    runtime = Runtime(config, DropJobs())
    now = time.time()
    try:
        for n in range(5):
            article = Article(id=f"a{n}", url=f"https://x.example/{n}", canonical_url="", title="t")
            runtime.history.record(article, [], [], at=now - (40 if n < 3 else 1) * 86400)
        history = open_history(config.settings)
        schedule.tick(runtime, now)
        assert history.count() == 3, "one tick deletes one bounded batch"
        schedule.tick(runtime, now)  # the batch was full: the next tick goes on at once
        assert history.count() == 2
        schedule.tick(runtime, now)
        assert history.count() == 2, "fresh articles stay"
        history.close()
    finally:
        runtime.close()
