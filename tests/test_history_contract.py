"""One contract, two homes: the same tests against SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from worker.history import HistoryRecorder, open_history
from worker.history.base import HistoryItem, decode_body, encode_body
from worker.models import Article, Match, Settings, SourceInfo
from worker.topics import parse_query

DAY = 86400.0
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def history(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(state_path=str(tmp_path / "state.db"))
    else:
        settings = Settings(database_url=request.getfixturevalue("postgres_url"))
    store = open_history(settings)
    yield store
    store.close()


def make(ident: str, title: str, text: str = "", source: str = "s1", **extra) -> Article:
    return Article(id=ident, url=f"https://news.example/{ident}", canonical_url="", title=title,
                   text=text, source=SourceInfo(source, source.upper(), f"{source}.example"),
                   language=extra.pop("language", "en"), **extra)


def terms(query: str) -> list:
    return [(t.words, t.prefix) for t in parse_query(query).terms]


def ids(found) -> list[str]:
    return [s.article.id for s in found]


def test_an_article_comes_back_whole_with_its_matches_and_alerts(history):
    article = make("a1", "Armenia and Azerbaijan sign", "Long text. " * 200,
                   authors=("Ani",), published=datetime(2026, 3, 10, 8, tzinfo=UTC),
                   tags=("peace",), summary="short")
    match = Match("conflict", 3.5, ("Armenia", "Azerbaijan"), ("…snippet…",))
    history.record(article, [match], [("conflict", "mail", "al-1"), ("conflict", "hook", "al-2")], T0)
    assert history.count() == 1 and history.count(since=T0 + 1) == 0
    (got,) = history.articles(T0 - DAY)
    assert got.article == article
    assert got.seen_at == T0
    assert got.matches == [{"topic": "conflict", "score": 3.5, "terms": ["Armenia", "Azerbaijan"]}]
    assert got.alerts == {"conflict": ["al-1", "al-2"]}


def test_bodies_are_compressed_where_it_pays():
    long = make("a", "t", "Armenia and Azerbaijan signed a framework. " * 100)
    short = make("b", "t", "Tiny.")
    assert encode_body(long)[:1] == b"z" and len(encode_body(long)) < 0.2 * len(long.text)
    assert encode_body(short)[:1] == b"j"
    assert decode_body(encode_body(long)) == long and decode_body(encode_body(short)) == short


def test_the_word_index_finds_words_prefixes_and_phrases_in_every_script(history):
    history.record(make("en", "Armenian troops", "near the border"), [], [], T0)
    history.record(make("hy", "Երևան", "Հայաստանի կառավարությունը"), [], [], T0 + 1)
    history.record(make("ru", "Пашинян", "и Алиев в Брюсселе"), [], [], T0 + 2)
    history.record(make("ar", "أذربيجان", "باكو"), [], [], T0 + 3)
    history.record(make("tr", "Bakı'da zirve", "Azərbaycan"), [], [], T0 + 4)
    history.record(make("id", "Harga bahan baku", "naik"), [], [], T0 + 5)
    since = T0 - DAY
    assert ids(history.articles(since, terms("armeni*"))) == ["en"]
    assert ids(history.articles(since, terms("Երեւան"))) == ["hy"]  # classical spelling
    assert ids(history.articles(since, terms("հայաստան*"))) == ["hy"]
    assert ids(history.articles(since, terms("АЛИЕВ"))) == ["ru"]
    assert ids(history.articles(since, terms("اذربيجان"))) == ["ar"]  # hamza seat folded
    assert ids(history.articles(since, terms("baki OR azerbaycan*"))) == ["tr"]
    assert ids(history.articles(since, terms('"bahan baku"'))) == ["id"]
    assert ids(history.articles(since, terms("border OR брюссел*"))) == ["ru", "en"]  # newest first
    assert ids(history.articles(since, terms("karabakh"))) == []
    assert ids(history.articles(since, [])) == []
    assert len(ids(history.articles(since))) == 6  # no narrowing: everything


def test_the_index_never_hides_an_article_the_shipped_topic_matches(history):
    """Soundness of the narrowing on the labelled multilingual set: every case the real
    matcher fires on is among the articles found by the topic's positive terms."""
    from test_topic_cases import load_cases, shipped_topics

    from worker.history.base import can_use_index
    from worker.topics import compile_topics
    from worker.topics.index import _positive_terms

    index = compile_topics(shipped_topics())
    compiled = index.topics[0]
    required = list(dict.fromkeys((t.words, t.prefix) for t in _positive_terms(compiled.query.root)))
    assert can_use_index(required)
    matched = set()
    for number, case in enumerate(load_cases()):
        article = make(f"c{number}", case["title"], case["text"], language=case["lang"])
        history.record(article, [], [], T0 + number)
        if index.match(article):
            matched.add(article.id)
    found = set(ids(history.articles(T0 - 1, required)))
    assert matched and matched <= found


def test_windows_sources_and_replacing_an_article(history):
    history.record(make("old", "armenia", source="s1"), [], [], T0 - 10 * DAY)
    history.record(make("new", "armenia", source="s2"), [], [], T0)
    assert ids(history.articles(T0 - DAY, terms("armenia"))) == ["new"]
    assert ids(history.articles(T0 - 20 * DAY, terms("armenia"), sources=["s1"])) == ["old"]
    # the same article recorded again (a poll run again) replaces the first copy and its words
    history.record(make("new", "azerbaijan", source="s2"), [], [("t", "c", "x")], T0 + 5)
    assert history.count() == 2
    assert ids(history.articles(T0 - DAY, terms("armenia"))) == []
    (again,) = history.articles(T0 - DAY, terms("azerbaijan"))
    assert again.seen_at == T0 + 5 and again.alerts == {"t": ["x"]}


def test_expiry_deletes_in_bounded_batches_with_words_and_alerts(history):
    for n in range(5):
        history.record(make(f"old{n}", "karabakh news"), [], [("t", "c", f"al{n}")], T0 - 40 * DAY + n)
    history.record(make("fresh", "karabakh news"), [], [("t", "c", "alf")], T0)
    cutoff = T0 - 30 * DAY
    assert [history.expire(cutoff, 2) for _ in range(4)] == [2, 2, 1, 0]
    assert ids(history.articles(0, terms("karabakh"))) == ["fresh"]
    assert history.alerted_articles("t", 0) == {"fresh"}
    # the index forgot them too: an article recorded later is found alone
    history.record(make("later", "karabakh"), [], [], T0 + 1)
    assert ids(history.articles(0, terms("karabakh"))) == ["later", "fresh"]


def test_alerts_per_day_and_latest_alerts(history):
    day1, day2 = T0, T0 + DAY
    history.record(make("a", "A"), [], [("t", "mail", "a-mail"), ("t", "hook", "a-hook")], day1)
    history.record(make("b", "B"), [], [("t", "mail", "b-mail")], day1 + 60)
    # a republication of "a" the next day carries a's alert ids: not a new alert
    history.record(make("a2", "A again", source="s2"), [],
                   [("t", "mail", "a-mail"), ("t", "hook", "a-hook")], day2)
    history.record(make("c", "C"), [], [("t", "mail", "c-mail")], day2 + 60)
    history.record(make("d", "D"), [], [("other", "mail", "d-mail")], day2)
    assert history.alerts_per_day("t", day1 - DAY) == {"2026-03-10": 2, "2026-03-11": 1}
    assert history.alerts_per_day("t", day2) == {"2026-03-11": 1}
    assert history.alerted_articles("t", day1 - DAY) == {"a", "b", "a2", "c"}
    latest = history.latest_alerts("t", 10)
    assert [(r.article_id, r.channel_id) for r in latest] == [
        ("c", "mail"), ("b", "mail"), ("a", "hook"), ("a", "mail")]
    assert latest[0].title == "C" and latest[0].url.endswith("/c") and latest[0].source_id == "s1"
    assert len(history.latest_alerts("t", 2)) == 2
    assert history.describe(["a", "c", "missing"]) == {"a": ("A", day1), "c": ("C", day2 + 60)}
    assert history.describe([]) == {}


def test_migrations_are_applied_once_and_recorded(history, tmp_path):
    from worker.history.migrations import migrations

    dialect = "postgres" if type(history).__name__.startswith("Postgres") else "sqlite"
    versions = [m.version for m in migrations(dialect)]
    assert versions and versions == sorted(versions)
    history.record(make("kept", "t"), [], [], T0)
    settings = (Settings(state_path=str(tmp_path / "state.db")) if dialect == "sqlite"
                else Settings(database_url=history.url))
    # several processes (threads here) opening at once: each migration runs once
    opened, errors = [], []

    def open_one():
        try:
            opened.append(open_history(settings))
        except Exception as error:  # noqa: BLE001 - any failure is reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert opened[0].count() == 1  # nothing was re-created
    for other in opened:
        other.close()


def test_an_unreachable_history_logs_once_and_never_raises(caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(redis_url="redis://127.0.0.1:6379/0",
                        database_url=f"postgresql://nobody@127.0.0.1:{port}/none")
    from worker.history import recorder_for

    recorder = recorder_for(settings)
    assert isinstance(recorder, HistoryRecorder) and recorder.enabled
    caplog.set_level(logging.WARNING, logger="newswatch.history")
    started = time.monotonic()
    results = [recorder.record(make(f"x{n}", "t"), [], []) for n in range(20)]
    assert results == [False] * 20
    assert recorder.expire() == 0
    warnings = [r for r in caplog.records if r.name == "newswatch.history"]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()
    assert time.monotonic() - started < 5, "later records do not wait on the dead store again"


def test_history_off_records_nothing(tmp_path):
    from worker.history import recorder_for

    recorder = recorder_for(Settings(state_path=str(tmp_path / "s.db"), history=0.0))
    assert not recorder.enabled
    assert recorder.record(make("a", "t"), [], []) is False
    assert not (tmp_path / "s.db").exists()


def test_several_articles_recorded_at_once_come_back_each_and_a_repeat_replaces(history):
    history.record_many([HistoryItem(make("m1", "One", "first text"), [], [], T0),
                         HistoryItem(make("m2", "Two", "second text"), [], [("t", "c", "al-9")], T0 + 1),
                         HistoryItem(make("m1", "One again", "first text"), [], [], T0 + 2)])
    stored = {s.article.id: s for s in history.articles(T0 - DAY)}
    assert sorted(stored) == ["m1", "m2"]
    assert stored["m1"].article.title == "One again" and stored["m2"].alerts == {"t": ["al-9"]}


def test_a_batch_is_written_once_at_its_end(tmp_path):
    written: list[int] = []

    class Counting:
        def record_many(self, items):
            written.append(len(items))

    recorder = HistoryRecorder(lambda: Counting(), keep=DAY, what="test")
    with recorder.batch():
        for n in range(5):
            assert recorder.record(make(f"b{n}", "t"), [], [])
        assert written == [], "nothing is written before the batch ends"
    assert written == [5]
    recorder.record(make("after", "t"), [], [])
    assert written == [5, 1]


def test_the_matchers_own_words_index_the_article_as_tokenising_it_again_would():
    # The poll hands history the words its topic scan found (alerting.match_and_alert),
    # so a second tokenisation is skipped; both must give the same index.
    from worker.history.base import indexed_words
    from worker.topics.index import TopicIndex

    article = make("w", "Pašinjan u Bakı'da", "Երևան ½ und Straße — Пашинян\u2060 армения", language="hy")
    scan = TopicIndex([]).scan(article)
    assert indexed_words(article, scan.norms) == indexed_words(article)
    assert "армения" in indexed_words(article, scan.norms)


def test_an_article_recorded_twice_in_one_batch_keeps_the_alerts_of_its_last_record(history):
    history.record_many([HistoryItem(make("r1", "One", "text"), [], [("t", "c", "al-1")], T0),
                         HistoryItem(make("r1", "One again", "text"), [], [], T0 + 1)])
    assert history.alerted_articles("t", T0 - DAY) == set()
    assert [s.alerts for s in history.articles(T0 - DAY)] == [{}]
