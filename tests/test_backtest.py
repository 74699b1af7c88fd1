"""`newswatch backtest` and `newswatch search` over a history with known articles."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from worker.cli import main
from worker.config import load_config
from worker.history import open_history
from worker.models import Article, Match, SourceInfo

NOW = time.time()
DAY = 86400.0


def article(ident: str, title: str, text: str = "", source: str = "kompas", language: str = "id"):
    return Article(id=ident, url=f"https://news.example/{ident}", canonical_url="", title=title,
                   text=text, source=SourceInfo(source, source.title(), f"{source}.example"),
                   language=language)


CONFIG = """
    sources:
      - {{id: kompas, url: "https://kompas.example/rss"}}
      - {{id: bbc, url: "https://bbc.example/rss"}}
      - {{id: tempo, url: "https://tempo.example/rss"}}
    terms:
      armenia_side: [armeni*, yerevan, pashinyan]
      azerbaijan_side: [azerbaijan*, aliyev, baku]
    topics:
      - id: conflict
        name: Conflict
        query: '@armenia_side NEAR/10 @azerbaijan_side OR karabakh'
        channels: [hook]
        languages: [id, en]
        sources: [kompas, bbc]
    channels:
      - id: hook
        type: webhook
        url: http://127.0.0.1:9/hook
    settings:
      state_path: {state}
      database_url: {database}
      history: 30d
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def setup(request, tmp_path):
    database = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(CONFIG).format(state=tmp_path / "state.db", database=database))
    config = load_config(path)
    return path, config


def fill(config) -> None:
    """Known history: what alerted then, and articles a draft would treat differently."""
    history = open_history(config.settings)
    m = Match("conflict", 3.0, ("Armenia", "Azerbaijan"))
    rows = [
        # alerted then and still matches
        (article("both", "Armenia dan Azerbaijan berunding"), [m], [("conflict", "hook", "al-both")], 1),
        # alerted then, but the query no longer matches it: gone
        (article("gone", "Pembicaraan damai di Kaukasus"), [m], [("conflict", "hook", "al-gone")], 1),
        # matches now, never alerted (e.g. a term just added to a list): new
        (article("new", "Karabakh: pengungsi kembali"), [], [], 2),
        (article("other", "Harga cabai naik"), [], [], 2),
        # filtered out by the topic: wrong language, wrong source
        (article("ru", "Karabakh", language="ru"), [], [], 2),
        (article("tempo", "Karabakh", source="tempo"), [], [], 2),
        # outside the 7d window
        (article("old", "Karabakh lama"), [], [], 10),
    ]
    for art, matches, alerts, days_ago in rows:
        history.record(art, matches, alerts, NOW - days_ago * DAY)
    history.close()


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_backtest_json_lists_matches_per_day_new_and_gone(setup, capsys):
    path, config = setup
    fill(config)
    code, out, err = run(capsys, "backtest", "--config", str(path), "--topic", "conflict", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [m["article_id"] for m in report["matches"]] == ["both", "new"]  # newest first
    first = report["matches"][1]
    assert set(first) >= {"article_id", "url", "title", "published", "source", "score", "terms"}
    assert first["source"] == "kompas" and first["terms"] == ["Karabakh"] and first["score"] == 2.0
    assert report["new"] == ["new"] and report["gone"] == ["gone"]
    days = report["per_day"]
    assert len(days) == 8 and sum(days.values()) == 2  # every day of the window, zeros too
    assert days[time.strftime("%Y-%m-%d", time.gmtime(NOW - DAY))] == 1
    assert report["stored"] == 6  # "old" is outside the window


def test_a_draft_query_keeps_the_topic_filters_and_can_use_lists(setup, capsys):
    path, config = setup
    fill(config)
    code, out, _ = run(capsys, "backtest", "--config", str(path), "--topic", "conflict",
                       "--query", "karabakh OR kaukasus", "--json")
    report = json.loads(out)
    # ru (language) and tempo (source) stay filtered out; "old" is out of the window
    assert code == 0 and sorted(m["article_id"] for m in report["matches"]) == ["gone", "new"]
    assert report["new"] == ["new"]  # "gone" alerted then (on other words), so it is not new
    assert report["gone"] == ["both"]
    # without --topic: no filters, no comparison
    code, out, _ = run(capsys, "backtest", "--config", str(path), "--query", "karabakh", "--json",
                       "--since", "30d")
    report = json.loads(out)
    assert sorted(m["article_id"] for m in report["matches"]) == ["new", "old", "ru", "tempo"]
    assert "new" not in report and "gone" not in report
    code, out, _ = run(capsys, "search", "--config", str(path), "@armenia_side", "--json")
    assert [m["article_id"] for m in json.loads(out)["matches"]] == ["both"]


def test_backtest_prints_a_table_and_a_bar_per_day(setup, capsys):
    path, config = setup
    fill(config)
    code, out, _ = run(capsys, "backtest", "--config", str(path), "--topic", "conflict")
    assert code == 0
    assert "topic conflict, last 7d: 2 of 6 stored articles would alert" in out
    assert "Karabakh: pengungsi kembali" in out and "kompas" in out
    bars = [line for line in out.splitlines() if line.startswith("  20") and "█" in line]
    assert len(bars) == 2 and all(line.endswith(" 1") for line in bars)
    assert "1 new (would alert now, did not then), 1 gone" in out
    assert "  gone  Pembicaraan damai di Kaukasus" in out


def test_search_lists_newest_first(setup, capsys):
    path, config = setup
    fill(config)
    code, out, _ = run(capsys, "search", "--config", str(path), "karabakh", "--since", "30d")
    assert code == 0
    lines = [line for line in out.splitlines() if "Karabakh" in line]
    assert len(lines) == 4 and "Karabakh lama" in lines[-1]
    assert out.startswith("4 of 7 articles stored in the last 30d match")


@pytest.mark.parametrize("argv, message", [
    (["backtest", "--topic", "nope"], "no topic 'nope' in the config"),
    (["backtest", "--topic", "conflict", "--query", "armenia AND (baku"],
     "--query: position 17: expected ')' to close the '(' at position 12"),
    (["backtest", "--query", "@missing"], "--query: position 0: expected a term list defined"),
    (["backtest", "--topic", "conflict", "--since", "45d"], "--since 45d: out of range, history keeps 30d"),
    (["backtest", "--topic", "conflict", "--since", "soon"], "--since 'soon': not a time span"),
    (["backtest"], "backtest needs --topic ID, --query Q, or both"),
    (["search", "NOT karabakh"], "QUERY: position 0: expected at least one term"),
])
def test_bad_input_is_one_clear_line_and_exit_2(setup, capsys, argv, message):
    path, _ = setup
    code, out, err = run(capsys, argv[0], "--config", str(path), *argv[1:])
    assert code == 2 and out == ""
    assert err.startswith(f"newswatch: {message}"), err
    assert len(err.strip().splitlines()) == 1


def test_an_empty_history_says_so_and_exits_0(setup, capsys):
    path, _ = setup
    for argv in (["backtest", "--topic", "conflict"], ["search", "karabakh"]):
        code, out, _ = run(capsys, argv[0], "--config", str(path), *argv[1:])
        assert (code, out.strip()) == (0, "no articles stored yet")
    code, out, _ = run(capsys, "backtest", "--config", str(path), "--topic", "conflict", "--json")
    assert json.loads(out)["note"] == "no articles stored yet"


def test_an_unreachable_history_is_one_line_and_exit_1(tmp_path, capsys):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "c.yaml"
    path.write_text("topics: [{id: t, query: karabakh}]\nsettings:\n"
                    f"  database_url: postgresql://u:secretpw@127.0.0.1:{port}/x\n")
    code, out, err = run(capsys, "search", "--config", str(path), "karabakh")
    assert code == 1 and out == ""
    assert err.startswith("newswatch: history store unavailable: cannot reach PostgreSQL")
    assert "secretpw" not in err and len(err.strip().splitlines()) == 1


def test_backtest_shows_what_the_live_pipeline_sent(tmp_path, capsys):
    """The same matcher, the same filters: after a real poll, backtesting the topic finds
    exactly the alerted article, with nothing new and nothing gone."""
    from test_history_pipeline import run_poll

    config, result = run_poll(tmp_path)
    assert result.alerts == 2
    path = tmp_path / "c.yaml"
    path.write_text(f"topics: [{{id: t, query: 'armenia AND azerbaijan', channels: [hook]}}]\n"
                    f"channels: [{{id: hook, type: webhook, url: 'http://127.0.0.1:9/'}}]\n"
                    f"settings: {{state_path: '{config.settings.state_path}'}}\n")
    code, out, _ = run(capsys, "backtest", "--config", str(path), "--topic", "t", "--json")
    report = json.loads(out)
    assert code == 0 and [m["title"] for m in report["matches"]] == ["Armenia dan Azerbaijan"]
    assert report["new"] == [] and report["gone"] == []
