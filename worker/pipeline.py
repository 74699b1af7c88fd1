"""The stages wired together: tick -> poll_source -> (parse, dedup, match) -> deliver.

Plain Python: every job takes a Runtime and plain arguments, does one step,
records the result in the store and asks the dispatcher for the next step.
Celery tasks (tasks.py) and the embedded scheduler (embedded.py) both call
exactly these functions.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from . import dedup, metrics
from .logs import summary
from .models import (
    Alert,
    Article,
    Channel,
    DeliveryResult,
    FeedEntry,
    Match,
    Source,
    SourceInfo,
    Topic,
    iso_utc,
)
from .runtime import Runtime
from .store import ENTRY_BUSY, ENTRY_NEW, FAILED, PENDING, SENT, Delivery, EntryOutcomes, SourceState

log = logging.getLogger("newswatch.pipeline")

# A digest item waits for its period's email, never for the retry sweep.
NEVER = 1e18
# Characters of article text a deliver message may carry with its claimed record.
MAX_HANDED_TEXT = 20_000
# Texts shorter than this are too thin to call two stories the same.
MIN_WORDS_FOR_FINGERPRINT = 40
# 64-bit SimHash: bits differ with probability angle/pi between the shingle vectors, so
# <= 10 bits means a cosine of about 0.85+ (a republished wire story with trimmings);
# unrelated articles, even on the same topic, sit around 25-32 bits apart.
NEAR_DUPLICATE_BITS = 10
MAX_SOURCE_BACKOFF = 3600.0
# A poll that starts after its source's claim ran out (a long queue) still claims its
# entries this long, so that two copies of it rarely do the same work.
MIN_ENTRY_CLAIM = 1.0


# ------------------------------------------------------------------------------ tick


def tick(rt: Runtime, now: float | None = None, cycle_line: bool = True) -> dict[str, int]:
    """Sync the schedule with the config, then fan out what is due."""
    started = time.monotonic()
    rt.reload_if_changed()
    now = time.time() if now is None else now
    store = rt.store
    scheduled = store.scheduled()
    configured = {source.id: source for source in rt.config.sources}
    for source_id in configured.keys() - scheduled.keys():
        store.schedule_new(source_id, now)  # new source: due at once
    for source_id in scheduled.keys() - configured.keys():
        store.unschedule(source_id)  # removed from config: never polled again
    due = [s for s in store.claim_due(now, hold=rt.config.settings.poll_claim) if s in configured]
    for source_id in due:
        rt.dispatcher.enqueue("poll_source", source_id, now)
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
    result = {"due": len(due), "deliveries": len(deliveries), "digests": digests}
    if due or deliveries or digests:
        summary("tick", status="ok", **result, ms=_ms(started))
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


# ------------------------------------------------------------------------------ poll


@dataclass
class PollResult:
    source_id: str
    status: str  # ok | not_modified | error
    http: int | None = None
    entries: int = 0
    new: int = 0
    matched: int = 0
    alerts: int = 0
    entry_errors: int = 0
    busy: int = 0  # entries another poll was working on
    error: str | None = None


def poll_source(rt: Runtime, source_id: str, claimed_at: float | None = None) -> PollResult:
    """Fetch one source, process its new entries, record health and the next due time.

    `claimed_at` is when the scheduler handed this poll out. When the queue is longer
    than the claim's hold, the scheduler hands the source out again; the copy that runs
    second finds the source polled after its claim and does nothing, so a backlog never
    multiplies itself. A claim made while a poll was running is as stale, so "after" is
    measured to the end of the last poll.
    """
    from .fetch import FetchError
    from .listing import list_entries
    from .sources import SourceError

    started = time.monotonic()
    now = time.time()
    try:
        source = rt.config.source(source_id)
    except StopIteration:
        # Removed from the config (or this process has not seen the edit yet): the tick
        # keeps the schedule in line with the config, so there is nothing to undo here.
        summary("poll_source", logging.WARNING, source=source_id, status="skipped",
                error="not in this worker's config")
        return PollResult(source_id, "skipped")
    state = rt.store.source_state(source_id)
    last_end = state.last_poll_end or state.last_poll
    if claimed_at is not None and last_end is not None and last_end >= claimed_at:
        return PollResult(source_id, "skipped")
    result = PollResult(source_id, "ok")
    server_wait = 0.0  # what the server asked for: Cache-Control max-age or Retry-After
    done: list[str] = []
    failed: list[str] = []
    claims_end = (claimed_at or now) + rt.config.settings.poll_claim
    try:
        listing = list_entries(rt.fetcher, source, state)
        state = listing.state
        result.http = listing.response.status
        server_wait = listing.server_wait
        if listing.response.not_modified or listing.unchanged:
            result.status = "not_modified"
        result.entries = len(listing.entries)
        for entry, key in claim_new_entries(rt, listing.entries, result, claims_end - time.time()):
            (done if _process_counted(rt, source, entry, result) else failed).append(key)
    except FetchError as error:
        result.status, result.error, result.http = "error", error.reason, error.status
        server_wait = error.retry_after or 0.0
    except SourceError as error:
        result.status, result.error = "error", f"bad feed: {error}"
    except Exception as error:  # one broken source never takes the worker down
        log.exception("poll of %s failed", source_id)
        result.status, result.error = "error", f"{type(error).__name__}: {error}"

    if result.status == "error" or failed or result.busy:
        # Validators and the body hash say "everything up to this version is handled":
        # until it is, the next poll reads the feed in full and retries what is left.
        state = replace(state, etag=None, last_modified=None, body_hash=None)
    failures = state.failures + 1 if result.status == "error" else 0
    next_due = now + next_poll_interval(source.every, failures, server_wait)
    if result.busy:
        # Entries held by a poll that may have died (a prefork child killed, its message
        # requeued at once): come back when its claims have run out, not a whole interval on.
        next_due = min(next_due, max(claims_end, time.time()) + rt.config.settings.tick_every)
    state = replace(
        state, last_poll=now, last_poll_end=time.time(), last_status=result.status,
        last_error=result.error,
        http=result.http, failures=failures, next_due=next_due, entries=result.entries,
        new=result.new,
    )
    # The seen marks go with the poll's record, after every entry's alerts are in the
    # ledger: a poll that dies before this line leaves only claims, which run out, and
    # is run again (see claim_new_entries).
    entries = EntryOutcomes(tuple(done), tuple(failed), rt.config.settings.dedup_window)
    rt.store.record_poll(track_health(rt, source, state, now), {
        "polled": 1, "not_modified": int(result.status == "not_modified"),
        "failed": int(result.status == "error"), "entries": result.entries, "new": result.new,
        "matched": result.matched, "alerts": result.alerts,
    }, next_due, entries)
    metrics.observe_poll(result.status, time.monotonic() - started, result.new, result.matched,
                         result.alerts)
    summary(
        "poll_source", logging.WARNING if result.status == "error" else logging.INFO,
        source=source_id, status=result.status, http=result.http, entries=result.entries,
        new=result.new, matched=result.matched, alerts=result.alerts,
        entry_errors=result.entry_errors or None, busy=result.busy or None, error=result.error,
        ms=_ms(started),
    )
    return result


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


def next_poll_interval(every: float, failures: int, server_wait: float) -> float:
    """Seconds to the next poll: the source's interval, backed off exponentially after
    consecutive failures (capped), and never sooner than the server asked (max-age,
    Retry-After, capped at a day so a typo in a header cannot silence a source)."""
    interval = every
    if failures:
        interval = min(every * 2 ** min(failures - 1, 10), max(MAX_SOURCE_BACKOFF, every))
    return max(interval, min(server_wait, 86400.0))


def claim_new_entries(rt: Runtime, entries: list[FeedEntry], result: PollResult,
                      ttl: float) -> list[tuple[FeedEntry, str]]:
    """The entries no poll has finished or is working on, each with its key; one store
    round trip, which also claims them for this poll.

    Keys come from the URL's identity (dedup.entry_key), so the same article on several
    feeds (or with tracking parameters) is taken once, by whichever poll gets there first.
    The claims end when the source's own claim does (`poll_claim` after the scheduler
    handed the poll out): a poll run again because its worker died finds them free.
    """
    keyed: dict[str, FeedEntry] = {}
    for entry in entries:
        if entry.url:
            keyed.setdefault(dedup.entry_key(entry.url), entry)
    states = rt.store.claim_entries(list(keyed), max(ttl, MIN_ENTRY_CLAIM))
    result.busy = states.count(ENTRY_BUSY)
    return [(entry, key) for (key, entry), state in zip(keyed.items(), states, strict=True)
            if state == ENTRY_NEW]


def _process_counted(rt: Runtime, source: Source, entry: FeedEntry, result: PollResult) -> bool:
    """Process one entry; a failing item is logged and retried next poll, never the others."""
    try:
        outcome = process_entry(rt, source, entry)
    except Exception as error:
        if isinstance(error, rt.store.unavailable):
            raise  # the store is down: the whole poll failed, not this item
        log.exception("entry %s of %s failed", entry.url, source.id)
        summary("process_entry", logging.WARNING, source=source.id, url=entry.url,
                status="error", error=f"{type(error).__name__}: {error}")
        result.entry_errors += 1
        return False
    result.new += outcome.new
    result.matched += outcome.matched
    result.alerts += outcome.alerts
    return True


# ------------------------------------------------------------------------------ entry


@dataclass
class EntryOutcome:
    new: int = 0
    matched: int = 0
    alerts: int = 0


def process_entry(rt: Runtime, source: Source, entry: FeedEntry) -> EntryOutcome:
    """Parse one new entry (and its page), match topics, create alerts.

    Safe to run again on the same entry (a poll rerun after a crash): every alert it
    creates is keyed on (article, topic, channel) and the ledger creates each once.
    """
    article = build_article(rt, source, entry)
    return EntryOutcome(new=1, **match_and_alert(rt, article))


def build_article(rt: Runtime, source: Source, entry: FeedEntry) -> Article:
    from .fetch import FetchError
    from .parser import ParseError, parse_entry, parse_html

    page = None
    if source.full_text:
        try:
            if rt.fetcher.allowed_by_robots(entry.url):
                response = rt.fetcher.get(entry.url, accept="text/html,application/xhtml+xml")
                page = parse_html(response.body, response.url, content_type=response.content_type)
            else:
                log.info("robots.txt disallows %s; using the feed entry only", entry.url)
        except (FetchError, ParseError) as error:
            reason = getattr(error, "reason", None) or str(error)
            summary("fetch_page", logging.WARNING, source=source.id, url=entry.url,
                    status="error", error=reason)
    return parse_entry(entry, source, page)


def match_and_alert(rt: Runtime, article: Article) -> dict[str, int]:
    matches = rt.topic_index.match(article)
    alerts: list[tuple[str, str, str]] = []  # (topic, channel, alert id), for history
    counts = {"matched": 0, "alerts": 0}
    if matches:
        # One lock over look-up, fingerprint insert and ledger records: a republication seen
        # by another worker at the same moment finds the original's deliveries in place.
        # Held for milliseconds; its ttl only matters when its holder was killed.
        with rt.store.lock("fingerprints", ttl=10.0):
            counts = _alert_matches(rt, article, matches, alerts)
    rt.history.record(article, matches, alerts)  # guarded: an outage logs once, never raises
    return counts


def _alert_matches(rt: Runtime, article: Article, matches: list[Match],
                   alerted: list[tuple[str, str, str]]) -> dict[str, int]:
    identity, original_outlet = near_duplicate_identity(rt, article)
    alerts = 0
    now = time.time()
    for match in matches:
        topic = rt.config.topic(match.topic_id)
        for channel_id in topic.channels:
            alert_id = dedup.alert_id(identity, topic.id, channel_id)
            alerted.append((topic.id, channel_id, alert_id))
            if original_outlet is not None:
                # The same story from another outlet: name it on the first alert.
                if outlet_name(article) != original_outlet:
                    rt.store.add_also_reported(alert_id, outlet_name(article))
                continue
            alert = Alert(id=alert_id, topic=topic, article=article, match=match,
                          channel_id=channel_id, detected_at=datetime.fromtimestamp(now, UTC))
            if create_delivery(rt, alert, now):
                alerts += 1
            else:
                # The same article again: a rerun after a crash (the store ignores its own
                # outlet), or a syndicated copy whose canonical URL names the original.
                rt.store.add_also_reported(alert_id, outlet_name(article))
    return {"matched": len(matches), "alerts": alerts}


def near_duplicate_identity(rt: Runtime, article: Article) -> tuple[str, str | None]:
    """The id alerts are keyed on: this article's, or the earlier near-identical story's.

    Returns (identity, outlet of the original when this is a republication). Callers
    hold the "fingerprints" lock, so look-up and insert are one step across workers.
    """
    words = len(article.text.split())
    if words < MIN_WORDS_FOR_FINGERPRINT:
        return article.id, None
    fingerprint = dedup.text_fingerprint(article.text)
    now = time.time()
    since = now - rt.config.settings.dedup_window
    for other_id, other_fingerprint, outlet in rt.store.fingerprints_since(since):
        if other_id == article.id:
            return article.id, None
        if dedup.hamming(fingerprint, other_fingerprint) <= NEAR_DUPLICATE_BITS:
            return other_id, outlet
    rt.store.add_fingerprint(article.id, fingerprint, outlet_name(article), now)
    return article.id, None


def outlet_name(article: Article) -> str:
    return article.source.name or article.source.domain or article.source.id


def create_delivery(rt: Runtime, alert: Alert, now: float) -> bool:
    channel = rt.config.channel(alert.channel_id)
    digest = channel.mode == "digest"
    settings = rt.config.settings
    hold = settings.near_duplicate_hold
    # An alert sent right away is created already claimed for its first attempt, and the
    # claim travels with the deliver message: the ledger then costs two store round trips
    # per alert (create, finish) instead of three. A lost message is recovered by the tick
    # once the lease runs out, as for any other attempt. A long article's record stays in
    # the store only: broker messages stay small.
    handed = not digest and hold == 0 and len(alert.article.text) <= MAX_HANDED_TEXT
    record = Delivery(
        alert_id=alert.id, article_id=alert.article.id, topic_id=alert.topic.id,
        channel_id=channel.id, alert=alert_to_record(alert), created_at=now, updated_at=now,
        next_attempt_at=NEVER if digest else now + hold,
        attempts=1 if handed else 0, lease_until=now + settings.redelivery_after if handed else 0.0,
    )
    # A digest alert joins its channel's digest in the same store step.
    if not rt.store.create_delivery(record, digest=digest):
        return False  # another poll, feed or worker got there first
    if handed:
        rt.dispatcher.enqueue("deliver", alert.id, record.to_dict())
    elif not digest:
        rt.dispatcher.enqueue("deliver", alert.id, countdown=hold)
    return True


def alert_to_record(alert: Alert) -> dict:
    return {
        "event": alert.event,
        "topic": {"id": alert.topic.id, "name": alert.topic.name},
        "article": alert.article.to_dict(),
        "match": alert.match.to_dict(),
        "detected_at": alert.detected_at.isoformat(),
    }


def alert_from_record(rt: Runtime, record: Delivery) -> Alert:
    data = record.alert
    try:
        topic = rt.config.topic(record.topic_id)
    except StopIteration:  # the topic left the config after the match: keep its name
        topic = Topic(id=record.topic_id, name=data["topic"]["name"], query="")
    match = data["match"]
    return Alert(
        id=record.alert_id, topic=topic, article=Article.from_dict(data["article"]),
        match=Match(record.topic_id, match["score"], tuple(match["terms"]),
                    tuple(match["snippets"])),
        channel_id=record.channel_id, also_reported_by=tuple(record.also_reported_by),
        detected_at=datetime.fromisoformat(data["detected_at"]),
        event=data.get("event", "topic.match"),
    )


# ------------------------------------------------------------------------------ deliver


def deliver(rt: Runtime, alert_id: str, handed: dict | None = None, redelivered: bool = False) -> str:
    """Send one alert if it is still pending and nobody else holds it; schedule a retry.

    `handed` is the record its creator claimed for this first attempt (see create_delivery).
    It is used as is only on a first delivery of the message, early in its lease. A message
    the broker redelivered (its worker died, perhaps after sending) or one that waited long
    in the queue takes the lease over in the store, which fails if the alert was sent since
    or another worker claimed it after the lease ran out.
    """
    started = time.monotonic()
    now = time.time()
    lease = rt.config.settings.redelivery_after
    record = held_until = None
    if handed is not None:
        record = Delivery.from_dict(handed)
        held_until = record.lease_until
        # Half the lease left at least, so the send ends before anyone else may claim it.
        if redelivered or record.alert_id != alert_id or held_until - now < lease / 2:
            record = None
    if record is None:
        record = rt.store.claim_delivery(alert_id, now, lease=lease, held_until=held_until)
    if record is None:
        return "skipped"  # sent, failed, not yet due, or another worker has it
    try:
        channel = rt.config.channel(record.channel_id)
    except StopIteration:
        rt.store.finish_delivery(alert_id, FAILED, "channel not in config", now)
        summary("deliver", logging.ERROR, alert=alert_id, channel=record.channel_id,
                status="failed", error="channel not in config")
        return FAILED
    alert = alert_from_record(rt, record)
    result = _send(rt, channel.id, alert)
    fields = dict(alert=alert_id, channel=channel.id, topic=record.topic_id,
                  article=alert.article.url, attempt=record.attempts)
    metrics.observe_delivery(channel.id, "sent" if result.ok else "error", time.monotonic() - started)
    if result.ok:
        rt.store.finish_delivery(alert_id, SENT, None, time.time())
        summary("deliver", status="sent", **fields, detail=result.detail, ms=_ms(started))
        return SENT
    age = now - record.created_at
    if result.permanent or age >= channel.retry.max_age:
        rt.store.finish_delivery(alert_id, FAILED, result.detail, time.time())
        why = "permanent error" if result.permanent else "gave up after max_age"
        summary("deliver", logging.ERROR, status="failed", **fields, error=result.detail,
                reason=why, ms=_ms(started))
        return FAILED
    delay = retry_delay(channel.retry.backoff, channel.retry.max_backoff, record.attempts,
                        result.retry_after)
    rt.store.retry_delivery(alert_id, result.detail, now + delay, time.time())
    rt.dispatcher.enqueue("deliver", alert_id, countdown=delay)
    summary("deliver", logging.WARNING, status="retry", **fields, error=result.detail,
            retry_in=round(delay, 1), ms=_ms(started))
    return PENDING


def retry_delay(backoff: float, max_backoff: float, attempts: int,
                retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter in its upper half; Retry-After wins when longer."""
    ceiling = min(max_backoff, backoff * 2 ** max(0, attempts - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max_backoff))
    return delay


def _send(rt: Runtime, channel_id: str, alert: Alert) -> DeliveryResult:
    try:
        return rt.sender(channel_id).send(alert)
    except Exception as error:  # a channel bug is a failed attempt, not a dead worker
        log.exception("channel %s raised", channel_id)
        return DeliveryResult(ok=False, detail=f"{type(error).__name__}: {error}")


def send_digest(rt: Runtime, channel_id: str) -> str:
    """Send one email with every alert waiting in a channel's digest.

    The alerts leave the digest only after they are recorded as sent: a digest cut short
    by a crash goes out with the next period's (at least once, never lost). The lock keeps
    two schedulers' digests of one channel from going out at once.
    """
    started = time.monotonic()
    token = uuid.uuid4().hex
    if not rt.store.try_lock(f"digest:{channel_id}", token, ttl=rt.config.settings.redelivery_after):
        return "busy"
    try:
        ids = rt.store.digest_items(channel_id)
        records = [r for r in (rt.store.delivery(i) for i in ids) if r and r.state == PENDING]
        if not records:
            rt.store.remove_from_digest(channel_id, ids)
            return "empty"
        alerts = [alert_from_record(rt, r) for r in records]
        try:
            result = rt.sender(channel_id).send_digest(alerts)
        except Exception as error:
            log.exception("digest for %s raised", channel_id)
            result = DeliveryResult(ok=False, detail=f"{type(error).__name__}: {error}")
        if result.ok:
            now = time.time()
            for record in records:
                rt.store.finish_delivery(record.alert_id, SENT, None, now)
            rt.store.remove_from_digest(channel_id, ids)
        # else: they stay in the digest for the next period
    finally:
        rt.store.unlock(f"digest:{channel_id}", token)
    summary("send_digest", logging.INFO if result.ok else logging.WARNING, channel=channel_id,
            status="sent" if result.ok else "retry", alerts=len(records), detail=result.detail,
            ms=_ms(started))
    return SENT if result.ok else PENDING


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


JOBS = {
    "tick": tick,
    "poll_source": poll_source,
    "deliver": deliver,
    "send_digest": send_digest,
}
