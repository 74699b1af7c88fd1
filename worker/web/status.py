"""What the status page shows, read from the store and the history (read-only)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..history import History
from ..models import Config, Topic
from ..store import Store
from .chart import Chart, bar_chart

log = logging.getLogger("newswatch.web")

LATEST_ALERTS = 50


def when(timestamp: float | None) -> str:
    if not timestamp:
        return "–"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def span(seconds: float) -> str:
    """A duration in its largest whole unit: 7260 -> '2h'."""
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass
class AlertGroup:
    """One alerted article of a topic, with the delivery state on each of its channels."""

    article_id: str
    title: str
    url: str
    source_id: str
    at: str
    channels: list[tuple[str, str, str]] = field(default_factory=list)  # (channel, state, detail)


@dataclass
class TopicView:
    topic: Topic
    chart: Chart
    total: int
    alerts: list[AlertGroup]


@dataclass
class SourceView:
    id: str
    name: str
    url: str
    last_poll: str
    result: str
    http: str
    failing_since: str
    next_due: str
    error: str
    down: bool  # failing longer than source_down_after: the red mark
    down_for: str
    push: str = ""  # its WebSub subscription, if any (worker/websub)


@dataclass
class Page:
    generated: str
    topics: list[TopicView]
    sources: list[SourceView]
    history_note: str | None  # why there is no chart (history off or unreachable)
    window_days: int


def source_views(config: Config, store: Store, now: float) -> list[SourceView]:
    from ..websub.subscriber import describe

    scheduled = store.scheduled()
    subscriptions = {sub.source_id: sub for sub in store.subscriptions()}
    views = []
    down_after = config.settings.source_down_after
    for source in config.sources:
        state = store.source_state(source.id)
        down = bool(state.failing_since and state.failures and now - state.failing_since >= down_after)
        views.append(SourceView(
            id=source.id, name=source.name or source.id, url=source.url,
            last_poll=when(state.last_poll), result=state.last_status or "never polled",
            http=str(state.http or "–"),
            failing_since=when(state.failing_since) if state.failing_since else "–",
            next_due=when(scheduled.get(source.id) or state.next_due),
            error=state.last_error or "", down=down,
            down_for=span(now - state.failing_since) if down and state.failing_since else "",
            push=describe(subscriptions.get(source.id), now, when),
        ))
    return views


def alert_groups(history: History, store: Store, topic: Topic) -> list[AlertGroup]:
    rows = history.latest_alerts(topic.id, LATEST_ALERTS * max(1, len(topic.channels)))
    groups: dict[str, AlertGroup] = {}
    for row in rows:
        group = groups.get(row.article_id)
        if group is None:
            if len(groups) == LATEST_ALERTS:
                continue
            group = groups[row.article_id] = AlertGroup(row.article_id, row.title, row.url,
                                                        row.source_id, when(row.at))
        record = store.delivery(row.alert_id)
        if record is None:
            group.channels.append((row.channel_id, "unknown", "not in the ledger"))
        else:
            detail = f"{record.attempts} attempt{'s' if record.attempts != 1 else ''}"
            if record.last_error:
                detail += f"; {record.last_error}"
            group.channels.append((row.channel_id, record.state, detail))
    for group in groups.values():
        group.channels.sort()
    return list(groups.values())


def build_page(config: Config, store: Store, history: History | None, history_note: str | None,
               now: float | None = None) -> Page:
    now = time.time() if now is None else now
    window = config.settings.history
    topics = []
    if history is not None:
        since = now - window
        first = datetime.fromtimestamp(since, UTC).date()
        last = datetime.fromtimestamp(now, UTC).date()
        for topic in config.topics:
            per_day = history.alerts_per_day(topic.id, since)
            topics.append(TopicView(topic, bar_chart(per_day, first, last), sum(per_day.values()),
                                    alert_groups(history, store, topic)))
    return Page(when(now), topics, source_views(config, store, now), history_note,
                int(window // 86400))
