"""Rendering, the sender registry and the sample alert (no network)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from worker.alerts import Sender, build_sender, channel_option_problems
from worker.alerts.render import (
    Renderer,
    RenderError,
    digest_id,
    group_by_topic,
    header_value,
    published_times,
    safe_link,
    zone_of,
)
from worker.alerts.sample import sample_alert
from worker.models import Channel


def test_sample_alert_is_the_kompas_story():
    alert = sample_alert("desk-email")
    assert alert.channel_id == "desk-email"
    assert alert.article.title == "PM Armenia Minta agar Relasi Militer dengan Rusia Diperkuat"
    assert alert.article.published == datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    assert alert.article.authors == ("Ardi Priyatno Utomo",)
    assert alert.article.source.domain == "kompas.com"
    assert alert.topic.id == "armenia-azerbaijan"
    assert alert.payload()["article"]["published"] == "2020-11-21T13:00:00Z"
    assert alert.id.startswith("test-desk-email-")


def test_header_value_strips_controls_and_caps_length():
    assert header_value("a\r\nBcc: x@example.org\x00\x1b[31m\u2028b") == "a Bcc: x@example.org [31m b"
    assert header_value("\u202eevil") == "evil"
    capped = header_value("x" * 500, limit=50)
    assert len(capped) == 50 and capped.endswith("…")


def test_safe_link_only_allows_http():
    assert safe_link("https://kompas.com/a") == "https://kompas.com/a"
    assert safe_link("javascript:alert(1)") == ""
    assert safe_link("data:text/html,x") == ""
    assert safe_link(None) == ""


def test_published_times_in_utc_and_the_channel_zone():
    moment = datetime(2020, 11, 21, 13, 0, tzinfo=UTC)
    utc_only = published_times(moment, zone_of(None))
    assert utc_only["text"] == "2020-11-21 13:00 UTC" and utc_only["local"] is None
    jakarta = published_times(moment, zone_of("Asia/Jakarta"))
    assert jakarta["local"] == "2020-11-21 20:00 WIB"
    assert jakarta["text"] == "2020-11-21 20:00 WIB (Asia/Jakarta) · 2020-11-21 13:00 UTC"
    assert published_times(None, zone_of(None))["text"] == "time unknown"
    assert zone_of("Not/AZone").key == "UTC"


def test_highlight_marks_whole_words_and_escapes_html():
    alert = sample_alert("c")
    match = dataclasses.replace(
        alert.match, terms=("Armenia",), snippets=("Armenian <b>troops</b> left; Armenia & Russia agree",)
    )
    html = Renderer().alert(dataclasses.replace(alert, match=match)).html
    assert "Armenian &lt;b&gt;troops&lt;/b&gt; left; <mark>Armenia</mark> &amp; Russia agree" in html
    text = Renderer().alert(dataclasses.replace(alert, match=match)).text
    assert "Armenian <b>troops</b> left; Armenia & Russia agree" in text


def test_also_reported_by_is_shown():
    alert = dataclasses.replace(sample_alert("c"), also_reported_by=("Antara", "Tempo.co"))
    rendered = Renderer().alert(alert)
    assert "Also reported by: Antara, Tempo.co" in rendered.text
    assert "Also reported by: Antara, Tempo.co" in rendered.html


def test_sandbox_refuses_unsafe_templates():
    renderer = Renderer({"subject": "{{ ''.__class__.__mro__[1].__subclasses__() }}"})
    with pytest.raises(RenderError):
        renderer.alert(sample_alert("c"))
    sender = build_sender(
        Channel(
            id="c",
            type="email",
            options={
                "to": ["a@example.org"],
                "from": "n@example.org",
                "smtp_url": "smtp://127.0.0.1:1",
                "subject": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            },
        )
    )
    result = sender.send(sample_alert("c"))
    assert not result.ok and result.permanent and "template error" in result.detail


def test_article_content_is_data_not_template():
    alert = sample_alert("c")
    alert = dataclasses.replace(alert, article=dataclasses.replace(alert.article, title="{{ 7*7 }}"))
    assert Renderer().alert(alert).subject == "[Armenia–Azerbaijan] {{ 7*7 }}"


def test_grouping_and_digest_id():
    first = dataclasses.replace(sample_alert("c"), id="a")
    topic = dataclasses.replace(first.topic, id="t2", name="Other")
    second = dataclasses.replace(first, id="b", topic=topic)
    third = dataclasses.replace(first, id="c")
    groups = group_by_topic([first, second, third, first])
    assert [(t.id, [a.id for a in items]) for t, items in groups] == [("armenia-azerbaijan", ["a", "c"]), ("t2", ["b"])]
    assert digest_id([first, second]) == digest_id([second, first, second])
    assert digest_id([first]) != digest_id([first, second])
    assert Renderer().digest([first, second, third, first]).subject == (
        "[newswatch] 3 new alerts: Armenia–Azerbaijan (2), Other (1)"
    )


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("email", {"to": ["a@example.org"], "from": "n@example.org", "smtp_url": "smtp://127.0.0.1:1"}),
        ("webhook", {"url": "http://127.0.0.1:1/hook"}),
        ("apprise", {"url": "json://127.0.0.1:1/"}),
    ],
)
def test_registry_builds_a_sender_per_type(kind, options):
    assert channel_option_problems(kind, options) == []
    sender = build_sender(Channel(id="c", type=kind, options=options))
    assert isinstance(sender, Sender)


def test_unknown_type():
    with pytest.raises(ValueError, match="unknown channel type"):
        build_sender(Channel(id="c", type="pager"))
    assert channel_option_problems("pager", {}) == [
        ("type", "unknown channel type 'pager' (expected one of: email, webhook, apprise)")
    ]


def test_render_options_are_checked(tmp_path):
    assert (
        channel_option_problems(
            "email",
            {
                "to": "a@example.org",
                "from": "n@example.org",
                "smtp_url": "smtps://mail.example.org",
                "template": str(tmp_path),
                "timezone": "Europe/Istanbul",
                "timeout": "30s",
            },
        )
        == []
    )
    problems = dict(
        channel_option_problems(
            "email",
            {
                "to": "a@example.org",
                "from": "n@example.org",
                "smtp_url": "smtps://mail.example.org",
                "template": str(tmp_path / "missing"),
                "timezone": "Nowhere",
                "timeout": "soon",
            },
        )
    )
    assert set(problems) == {"template", "timezone", "timeout"}
