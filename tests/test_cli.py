"""The `newswatch` command: every subcommand answers --help, parse and match work on files."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT, TESTS, run_newswatch, subprocess_env

KOMPAS = TESTS / "fixtures" / "kompas_article.html"
URL = "https://www.kompas.com/global/read/2020/11/21/200000170/pm-armenia"


@pytest.mark.parametrize("command", ["run", "once", "check", "parse", "match", "test-alert",
                                     "status"])
def test_every_command_has_help(command, tmp_path):
    result = run_newswatch([command, "--help"], subprocess_env(), cwd=tmp_path)
    assert result.returncode == 0
    assert "--config" in result.stdout and f"newswatch {command}" in result.stdout


def test_bad_usage_exits_2(tmp_path):
    assert run_newswatch([], subprocess_env(), cwd=tmp_path).returncode == 2
    assert run_newswatch(["frobnicate"], subprocess_env(), cwd=tmp_path).returncode == 2
    missing = run_newswatch(["parse", str(tmp_path / "nope.html")], subprocess_env(), cwd=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_parse_prints_the_article_as_json(tmp_path):
    result = run_newswatch(["parse", str(KOMPAS), "--url", URL], subprocess_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["title"] == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert article["published"] == "2020-11-21T13:00:00Z"
    assert article["authors"] == ["Ardi Priyatno Utomo"]
    assert "Baca juga" not in article["text"]


def test_match_explains_the_shipped_topic(tmp_path):
    result = run_newswatch(["match", "--topic", "armenia-azerbaijan", str(KOMPAS), "--url", URL],
                           subprocess_env(), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "MATCH" in result.stdout.splitlines()[0]
    assert "[yes]" in result.stdout and "Pashinyan" in result.stdout
    offtopic = TESTS / "fixtures" / "e2e" / "offtopic-article.html"
    result = run_newswatch(["match", "--topic", "armenia-azerbaijan", str(offtopic)],
                           subprocess_env(), cwd=ROOT)
    assert result.returncode == 0 and "NO MATCH" in result.stdout.splitlines()[0]
    unknown = run_newswatch(["match", "--topic", "nope", str(KOMPAS)], subprocess_env(), cwd=ROOT)
    assert unknown.returncode == 2 and "no topic 'nope'" in unknown.stderr


def test_json_logs(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("settings:\n  state_path: " + str(tmp_path / "s.db") + "\n")
    result = run_newswatch(["once", "--config", str(config)], subprocess_env(LOG_FORMAT="json"),
                           cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    cycle = next(line for line in lines if line.get("task") == "cycle")
    assert cycle["polled"] == 0 and cycle["level"] == "info"


def test_config_is_honoured_before_or_after_the_command(tmp_path):
    (tmp_path / "one.yaml").write_text(
        "sources: [{id: only-one, url: 'https://example.org/rss'}]\n")
    (tmp_path / "two.yaml").write_text(
        "sources: [{id: a, url: 'https://example.org/a'}, {id: b, url: 'https://example.org/b'}]\n")
    before = run_newswatch(["--config", str(tmp_path / "one.yaml"), "check"], subprocess_env(),
                           cwd=tmp_path)
    assert before.returncode == 0 and "1 sources" in before.stdout, before.stdout + before.stderr
    after = run_newswatch(["check", "--config", str(tmp_path / "two.yaml")], subprocess_env(),
                          cwd=tmp_path)
    assert after.returncode == 0 and "2 sources" in after.stdout, after.stdout + after.stderr
    both = run_newswatch(["--config", str(tmp_path / "one.yaml"), "check", "--config",
                          str(tmp_path / "two.yaml")], subprocess_env(), cwd=tmp_path)
    assert "2 sources" in both.stdout, both.stdout + both.stderr


def test_status_shows_where_each_sources_push_subscription_stands(tmp_path, capsys):
    import time

    from worker.cli import main
    from worker.store import SUB_ACTIVE, Subscription
    from worker.store.sqlite import SQLiteStore

    config = tmp_path / "c.yaml"
    config.write_text(f"settings:\n  state_path: {tmp_path / 's.db'}\nsources:\n"
                      "  - {id: blog, url: 'http://127.0.0.1:9/feed'}\n"
                      "  - {id: wire, url: 'http://127.0.0.1:9/wire'}\n")
    store = SQLiteStore(tmp_path / "s.db")
    store.put_subscription(Subscription("blog", hub="http://127.0.0.1:9/hub", topic="http://127.0.0.1:9/feed",
                                        state=SUB_ACTIVE, secret="s" * 64,
                                        expires_at=time.time() + 86400), replaces=None)
    store.close()
    assert main(["status", "--config", str(config), "--json"]) == 0
    sources = {s["id"]: s for s in json.loads(capsys.readouterr().out)["sources"]}
    assert sources["blog"]["push"].startswith("live until ") and sources["wire"]["push"] == ""
    assert main(["status", "--config", str(config)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "push" in table[0]
    assert "live until" in next(line for line in table if line.startswith("blog"))
