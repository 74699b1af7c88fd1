"""The scheduler's step: keep the schedule in line with the config, hand out what is due
(polls, deliveries, digests) and log the cycle line.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .logs import ms_since, summary
from .models import Channel
from .runtime import Runtime
from .websub import schedule_subscriptions


def tick(rt: Runtime, now: float | None = None, cycle_line: bool = True) -> dict[str, int]:
    """Sync the schedule with the config, then fan out what is due."""
    started = time.monotonic()
    # Config edits are looked for every 5 s, or every tick when ticks are shorter.
    rt.reload_if_changed(every=min(5.0, rt.config.settings.tick_every))
    now = time.time() if now is None else now
    store = rt.store
    scheduled = store.scheduled()
    configured = {source.id: source for source in rt.config.sources}
    for source_id in configured.keys() - scheduled.keys():
        store.schedule_new(source_id, now)  # new source: due at once
    for source_id in scheduled.keys() - configured.keys():
        store.unschedule(source_id)  # removed from config: never polled again
    # Sources due before the middle of the next tick go now: a poll lands on average on
    # its due time instead of up to a whole tick after it (the next due time is counted
    # from this claim, see poll.next_due_at, so the lateness does not add up either).
    settings = rt.config.settings
    due = [s for s in store.claim_due(now + settings.tick_every / 2, hold=settings.poll_claim)
           if s in configured]
    for source_id in due:
        rt.dispatcher.enqueue("poll_source", source_id, now)
    subscriptions = schedule_subscriptions(rt, now)  # WebSub: subscribe, renew, unsubscribe
    deliveries = store.due_deliveries(now)
    for alert_id in deliveries:
        rt.dispatcher.enqueue("deliver", alert_id)
    digests = 0
    for channel in rt.config.channels:
        if channel.mode != "digest":
            continue
        due_at = store.digest_due(channel.id)
        if due_at is None:
            store.set_digest_due(channel.id, next_digest_at(channel, now))
        elif due_at <= now:
            store.set_digest_due(channel.id, next_digest_at(channel, now))
            rt.dispatcher.enqueue("send_digest", channel.id)
            digests += 1
    rt.history.expire(now)  # one bounded batch at most; guarded like recording
    store.sweep(now)  # run-out seen marks and claims (a no-op where keys expire themselves)
    result = {"due": len(due), "deliveries": len(deliveries), "digests": digests,
              "subscriptions": subscriptions}
    if due or deliveries or digests or subscriptions:
        summary("tick", status="ok", **result, ms=ms_since(started))
    if cycle_line:
        log_cycle(rt, len(configured))
    return result


CYCLE_FIELDS = ("polled", "not_modified", "failed", "entries", "new", "matched", "alerts",
                "sent", "retrying", "undeliverable")


def log_cycle(rt: Runtime, sources: int) -> None:
    """One `task=cycle` line per `cycle_log_every`, from the counters every worker adds to.

    The lock doubles as the period: whichever scheduler takes it logs, and nobody can
    take it again until it expires, however many schedulers run.
    """
    period = rt.config.settings.cycle_log_every
    if not rt.store.try_lock("cycle-line", token=str(time.time()), ttl=period):
        return
    counts = rt.store.take_counts()
    if any(counts.values()):
        summary("cycle", status="ok", sources=sources, period_s=int(period),
                **{name: counts.get(name, 0) for name in CYCLE_FIELDS})


def next_digest_at(channel: Channel, now: float) -> float:
    """When a digest channel's next period ends: every N, or daily at HH:MM in its zone."""
    if channel.at:
        zone = ZoneInfo(channel.options.get("timezone") or "UTC")
        hour, minute = (int(part) for part in channel.at.split(":"))
        local_now = datetime.fromtimestamp(now, zone)
        target = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if target <= local_now:
            target += timedelta(days=1)
        return target.timestamp()
    return now + (channel.every or 3600.0)
