"""The whole path through the real command: feed -> parser -> topic -> email + signed webhook.

Everything is real and on loopback: an HTTP server serving a Kompas-shaped feed and
pages, an SMTP server (aiosmtpd), a webhook receiver, Redis, and `newswatch once`
run as a subprocess with the shipped Armenia–Azerbaijan topic.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from helpers import ROOT, run_newswatch, subprocess_env
from scenario import (
    ARTICLE_PATH,
    CLEAN_TEXT_END,
    CLEAN_TEXT_START,
    SECRET,
    hook_posts,
    kompas_source,
    verify_signature,
    write_config,
)


@pytest.mark.parametrize("mode", ["embedded", pytest.param("redis", marks=pytest.mark.services)])
def test_once_sends_one_email_and_one_signed_webhook(mode, tmp_path, news_site, receiver, smtp,
                                                     request):
    redis_url = request.getfixturevalue("redis_url") if mode == "redis" else ""
    config = write_config(tmp_path / "config", [kompas_source(news_site)], smtp, receiver,
                          redis_url=redis_url)
    env = subprocess_env(TEST_WEBHOOK_SECRET=SECRET)

    first = run_newswatch(["once", "--config", str(config)], env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "task=poll_source source=kompas-global status=ok http=200 entries=2 new=2 matched=1" \
        in first.stderr, first.stderr

    # exactly one signed webhook, with the article as SPEC describes it
    posts = hook_posts(receiver)
    assert len(posts) == 1, first.stderr
    post = posts[0]
    verify_signature(post)
    headers = {k.lower(): v for k, v in post.headers.items()}
    assert headers["content-type"].startswith("application/json")
    assert headers["x-newswatch-event"] == "topic.match"
    payload = json.loads(post.body)
    assert headers["x-newswatch-delivery"] == payload["id"]
    assert payload["event"] == "topic.match" and payload["version"] == 1
    assert payload["topic"] == {"id": "armenia-azerbaijan", "name": "Armenia–Azerbaijan"}
    article = payload["article"]
    assert article["title"] == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert article["authors"] == ["Ardi Priyatno Utomo"]
    assert article["published"] == "2020-11-21T13:00:00Z"
    assert article["canonical_url"] == "https://www.kompas.com" + ARTICLE_PATH  # the page's own
    assert article["source"]["id"] == "kompas-global"
    assert article["language"] == "id"
    text = article["text"]
    assert text.startswith(CLEAN_TEXT_START) and text.endswith(CLEAN_TEXT_END), text
    for clutter in ("Baca juga", "Baca berita tanpa iklan", "WhatsApp", "Komentar",
                    "Bagikan artikel", "Login untuk", "Video rekomendasi"):
        assert clutter not in text
    assert "\n\n" in text
    assert {"Armenia", "Azerbaijan"} <= set(payload["match"]["terms"])
    assert payload["match"]["score"] > 0 and payload["match"]["snippets"]

    # exactly one email, with the subject and Message-ID of SPEC
    assert len(smtp.messages) == 1
    email = smtp.messages[0]
    assert email["Subject"] == "[Armenia–Azerbaijan] PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert email.is_multipart()
    types = {part.get_content_type() for part in email.walk()}
    assert {"text/plain", "text/html"} <= types
    assert "Baca juga" not in email.get_body(("plain",)).get_content()

    # nothing for the off-topic article, nothing again on the second run
    second = run_newswatch(["once", "--config", str(config)], env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(hook_posts(receiver)) == 1
    assert len(smtp.messages) == 1
    assert "new=0" in second.stderr

    status = run_newswatch(["status", "--json", "--config", str(config)], env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["delivery_counts"]["sent"] == 2
    assert report["sources"][0]["result"] in ("ok", "not_modified")


def test_broken_sources_are_logged_and_the_healthy_one_still_alerts(tmp_path, news_site, receiver,
                                                                     smtp):
    def slow(_request):
        time.sleep(4)  # the server is slow on purpose; the fetcher must give up at 2 s
        return 200, {"Content-Type": "application/rss+xml"}, b"<rss/>"

    news_site.routes.update({
        "/broken/500": (500, {"Content-Type": "text/plain"}, b"internal error"),
        "/broken/malformed": (200, {"Content-Type": "application/rss+xml"},
                              b"<rss><channel><item><title>cut off"),
        "/broken/slow": slow,
    })
    sources = [
        {"id": "server-error", "url": news_site.url("/broken/500")},
        {"id": "malformed", "url": news_site.url("/broken/malformed")},
        {"id": "too-slow", "url": news_site.url("/broken/slow")},
        kompas_source(news_site),
    ]
    config = write_config(tmp_path / "config", sources, smtp, receiver)
    result = run_newswatch(["once", "--config", str(config)],
                           subprocess_env(TEST_WEBHOOK_SECRET=SECRET), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = result.stderr
    assert "source=server-error status=error http=500" in log, log
    assert "source=malformed status=error" in log
    assert "source=too-slow status=error" in log
    assert "source=kompas-global status=ok" in log, log
    assert len(hook_posts(receiver)) == 1
    assert len(smtp.messages) == 1
    assert "Traceback" not in log


def test_bad_config_lists_every_problem_and_exits_2(tmp_path):
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "sources.yaml").write_text(
        "sources:\n"
        "  - id: Bad_Id\n"
        "    url: ftp://example.org/feed\n"
        "    every: soon\n"
        "    colour: blue\n"
    )
    (folder / "topics.yaml").write_text(
        "topics:\n"
        "  - id: t1\n"
        "    name: T\n"
        "    query: '(armenia AND'\n"
        "    channels: [nowhere]\n"
    )
    (folder / "channels.yaml").write_text(
        "channels:\n"
        "  - id: mail\n"
        "    type: email\n"
        "    to: [a@example.org]\n"
        "    from: b@example.org\n"
        "    smtp_url: ${NEWSWATCH_TEST_UNSET_VARIABLE}\n"
    )
    result = run_newswatch(["check", "--config", str(folder)], subprocess_env(), cwd=tmp_path)
    assert result.returncode == 2
    err = result.stderr
    sources_file, topics_file, channels_file = (str(folder / n) for n in
                                                ("sources.yaml", "topics.yaml", "channels.yaml"))
    assert f"{sources_file}:2: sources[0].id:" in err
    assert f"{sources_file}:3: sources[0].url:" in err
    assert f"{sources_file}:4: sources[0].every: bad interval" in err
    assert f"{sources_file}:5: sources[0].colour: unknown key" in err
    assert f"{topics_file}:4: topics[0].query:" in err and "position" in err
    assert f"{topics_file}:5: topics[0].channels: no channel with id 'nowhere'" in err
    assert f"{channels_file}:6: ${{NEWSWATCH_TEST_UNSET_VARIABLE}}: environment variable is not set" in err


def test_shipped_config_is_valid():
    result = run_newswatch(["check"], subprocess_env(), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout


def test_shipped_config_without_internet_logs_each_failure_and_keeps_going(tmp_path):
    # The tripwire refuses every name lookup in the subprocess: this is a machine with no
    # internet, and no packet can leave it whatever the code does.
    env = subprocess_env(NEWSWATCH_STATE=str(tmp_path / "state.db"))
    result = run_newswatch(["once", "--config", str(ROOT / "config")], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    polls = [line for line in result.stderr.splitlines() if "task=poll_source" in line]
    shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text())["sources"]
    assert len(polls) == len(shipped) >= 5
    assert all("status=error" in line and "error=" in line for line in polls)
    assert "Traceback" not in result.stderr
