"""Secrets never reach logs or delivery details."""

from __future__ import annotations

from worker.alerts.redact import MASK, channel_secrets, redact, redact_url, url_host


def test_redact_hides_each_secret_and_its_url_encoding():
    text = "login p@ss/w0rd failed for smtp://u:p%40ss%2Fw0rd@mail.example.org (key abc123)"
    assert redact(text, ["p@ss/w0rd", "abc123", ""]) == (
        f"login {MASK} failed for smtp://u:{MASK}@mail.example.org (key {MASK})"
    )


def test_redact_prefers_the_longest_secret():
    assert redact("token=abcdef", ["abc", "abcdef"]) == f"token={MASK}"


def test_redact_without_secrets_changes_nothing():
    assert redact("nothing to hide", []) == "nothing to hide"


def test_redact_url_drops_password_query_values_and_tokens():
    assert redact_url("smtp://desk:hunter2@mail.example.org:587") == f"smtp://desk:{MASK}@mail.example.org:587"
    assert redact_url("https://h.example.org/hook?token=abc&v=1") == f"https://h.example.org/hook?token={MASK}&v={MASK}"
    slack = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX1"
    assert redact_url(slack) == f"https://hooks.slack.com/services/T00000000/B00000000/{MASK}"
    assert redact_url("https://example.org/news/armenia") == "https://example.org/news/armenia"
    assert redact_url("smtp://desk@mail.example.org") == "smtp://desk@mail.example.org"


def test_url_host():
    assert url_host("https://u:p@hooks.example.org:8443/x?token=1") == "hooks.example.org"
    assert url_host("not a url") == "?"


def test_channel_secrets_collects_what_a_channel_carries():
    options = {
        "smtp_url": "smtp://desk:hunter2@mail.example.org:587",
        "secret": "whsec-1",
        "url": "https://h.example.org/hook?token=abc&v=1",
        "urls": ["tgram://123456789:AAAAbbbbCCCCddddEEEEffff1/42"],
        "headers": {"Authorization": "Bearer verysecrettoken", "X-Env": "production"},
    }
    found = set(channel_secrets(options))
    assert {"hunter2", "whsec-1", "abc", "Bearer verysecrettoken", "verysecrettoken"} <= found
    assert "AAAAbbbbCCCCddddEEEEffff1" in found
    assert "1" not in found and "production" not in found  # harmless values stay readable
    line = "sent to tgram://123456789:AAAAbbbbCCCCddddEEEEffff1/42 with hunter2"
    assert "hunter2" not in redact(line, found) and "AAAA" not in redact(line, found)
