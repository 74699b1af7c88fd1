"""Source health: one ops alert when a source keeps failing, one when it recovers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from . import dedup
from .ledger import create_delivery
from .models import Alert, Article, Match, Source, SourceInfo, Topic, iso_utc
from .runtime import Runtime
from .store import SourceState


def track_health(rt: Runtime, source: Source, state: SourceState, now: float) -> SourceState:
    """Raise one ops alert when a source has failed for `source_down_after`, one when it
    recovers. Both go through the ledger, so they are retried and never duplicated."""
    if state.failures:
        since = state.failing_since or now
        state = replace(state, failing_since=since)
        if not state.down_alerted and now - since >= rt.config.settings.source_down_after:
            _health_alert(rt, source, state, "source.down", now)
            state = replace(state, down_alerted=True)
        return state
    if state.down_alerted:
        _health_alert(rt, source, state, "source.recovered", now)
    return replace(state, failing_since=None, down_alerted=False)


def _health_alert(rt: Runtime, source: Source, state: SourceState, event: str, now: float) -> None:
    if not rt.config.settings.ops_channels:
        return
    since = datetime.fromtimestamp(state.failing_since or now, UTC)
    if event == "source.down":
        title = f"Source {source.id} is failing since {iso_utc(since)}: {state.last_error}"
        text = (f"newswatch cannot read {source.url} ({state.failures} failed polls in a row).\n\n"
                f"Last error: {state.last_error}")
    else:
        title = f"Source {source.id} works again (failing since {iso_utc(since)})"
        text = f"newswatch reads {source.url} again after {state.failures or 'several'} failed polls."
    host = urlsplit(source.url).hostname or ""
    article = Article(
        id=dedup.short_hash("source", source.id), url=source.url, canonical_url=source.url,
        title=title, source=SourceInfo(source.id, source.name or host, host), text=text,
        published=datetime.fromtimestamp(now, UTC),
    )
    topic = Topic(id="source-health", name="Source health", query="")
    episode = f"{event}:{source.id}:{state.failing_since}"
    for channel_id in rt.config.settings.ops_channels:
        alert = Alert(id=dedup.alert_id(episode, topic.id, channel_id), topic=topic,
                      article=article, match=Match(topic.id, 0.0, ()), channel_id=channel_id,
                      detected_at=datetime.fromtimestamp(now, UTC), event=event)
        create_delivery(rt, alert, now)
