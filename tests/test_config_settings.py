"""Settings whose text must have a form, and numbers that must not be negative: each bad
value is reported at its file and line, the others load."""

from __future__ import annotations

import pytest

from worker.config import ConfigError, load_config


def problems(tmp_path, settings: str) -> list[str]:
    (tmp_path / "newswatch.yaml").write_text("settings:\n" + settings)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    return [str(problem) for problem in raised.value.problems]


def test_urls_in_the_wrong_form_are_each_reported_at_their_line(tmp_path):
    found = problems(tmp_path, "  redis_url: http://127.0.0.1:6379\n"
                               "  database_url: mysql://db/x\n"
                               "  public_url: https://news.example.org/?a=1\n")
    assert len(found) == 3
    assert any(":2:" in p and "settings.redis_url" in p and "redis://" in p for p in found)
    assert any(":3:" in p and "settings.database_url" in p and "postgresql://" in p for p in found)
    assert any(":4:" in p and "settings.public_url" in p and "without query" in p for p in found)


def test_a_negative_count_is_refused(tmp_path):
    (found,) = problems(tmp_path, "  backlog_pages: -1\n")
    assert "settings.backlog_pages" in found and "0 or more" in found


def test_good_values_load(tmp_path):
    (tmp_path / "newswatch.yaml").write_text(
        "settings:\n  redis_url: redis://127.0.0.1:6379/0\n  public_url: https://news.example.org/nw\n"
        "  backlog_pages: 0\n  backlog_window: 6h\n")
    settings = load_config(tmp_path).settings
    assert (settings.backlog_pages, settings.backlog_window) == (0, 6 * 3600.0)
    assert settings.public_url == "https://news.example.org/nw"


def test_an_ops_channel_that_does_not_exist_is_reported_at_its_line(tmp_path):
    (found,) = problems(tmp_path, "  state_path: s.db\n  ops_channels: [nope]\n")
    assert ":3:" in found and "settings.ops_channels" in found and "no channel with id 'nope'" in found
