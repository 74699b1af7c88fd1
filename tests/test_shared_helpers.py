"""The helpers that used to live in several places: one home each, one rule each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.alerts.options import parse_seconds
from worker.durations import parse_duration
from worker.fetch.client import FetchResponse
from worker.headers import charset_param, retry_after_seconds
from worker.logs import redact, register_secrets
from worker.parser.encoding import charset_from_content_type
from worker.sources.common import looks_like_html_page


@pytest.mark.parametrize(
    ("content_type", "raw", "codec"),
    [
        ("text/html; charset=UTF-8", "utf-8", "utf-8"),
        ('application/xml; charset="ISO-8859-1"', "iso-8859-1", "iso8859-1"),
        ("text/html; Charset = 'latin1' ; q=1", "latin1", "iso8859-1"),
        ("text/html; charset=x-no-such-codec", "x-no-such-codec", None),
        ("text/html", None, None),
        (None, None, None),
    ],
)
def test_one_charset_rule_for_the_fetcher_the_feed_reader_and_the_parser(content_type, raw, codec):
    assert charset_param(content_type) == raw
    assert charset_from_content_type(content_type) == codec
    response = FetchResponse.__new__(FetchResponse)
    object.__setattr__(response, "content_type", content_type)
    assert response.charset == raw


def test_retry_after_reads_seconds_and_dates_and_refuses_the_rest():
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Wed, 25 Nov 2026 00:01:00 GMT", now) == 60.0
    assert retry_after_seconds("Tue, 24 Nov 2026 00:00:00 GMT", now) == 0.0
    assert retry_after_seconds("-5", now) == 0.0
    for junk in ("soon", "inf", "nan", "", None):
        assert retry_after_seconds(junk, now) is None


def test_durations_in_the_config_and_in_channel_options_share_one_reader():
    assert parse_duration("5m") == 300.0
    assert parse_duration("1d") == 86400.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration(0) == 0.0
    assert parse_duration(True) is None
    assert parse_duration("-5s") is None
    assert parse_duration("5 parsecs") is None
    # A timeout must be positive; otherwise the same reading.
    assert parse_seconds("2h") == 7200.0
    assert parse_seconds(0) is None


def test_log_redaction_hides_url_encoded_secrets_like_the_senders_do():
    register_secrets(["p@ss/w0rd-health"])
    line = redact("connect https://bob:hunter2@db.example/x failed with p%40ss%2Fw0rd-health")
    assert "hunter2" not in line
    assert "p%40ss%2Fw0rd-health" not in line
    assert line == "connect https://bob:***@db.example/x failed with ***"


@pytest.mark.parametrize(
    ("body", "is_page"),
    [
        (b"\xef\xbb\xbf<!DOCTYPE html><html><head>", True),
        (b"<?xml version='1.0'?>\n<html xmlns='http://www.w3.org/1999/xhtml'>", True),
        (b"<?xml version='1.0'?><rss version='2.0'><channel><description>&lt;html&gt;", False),
        (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>x</title>", False),
    ],
)
def test_one_html_sniffer_for_feed_urls(body, is_page):
    assert looks_like_html_page(body) is is_page
