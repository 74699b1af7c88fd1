"""What the pipeline remembers, as one contract with two homes (Redis, SQLite).

Every method that decides "who does this" is atomic in both implementations,
so two workers racing on the same article or delivery never both win.
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, NotRequired, TypedDict

from ..models import MatchRecord

PENDING, SENT, FAILED = "pending", "sent", "failed"
# What claim_entries says of a feed entry's key.
ENTRY_NEW, ENTRY_SEEN, ENTRY_BUSY = "new", "seen", "busy"


@dataclass(frozen=True, slots=True)
class EntryOutcomes:
    """The entries one poll claimed: finished (their article stored, their alerts in the
    ledger) or failed (to be tried again by the next poll)."""

    done: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    seen_ttl: float = 0.0


@dataclass(frozen=True, slots=True)
class SourceState:
    """Health and HTTP validators of one source."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    last_poll: float | None = None  # unix time the last poll started
    last_status: str | None = None  # ok | not_modified | error
    last_error: str | None = None
    http: int | None = None
    failures: int = 0  # consecutive
    next_due: float | None = None
    entries: int = 0
    new: int = 0
    feed_url: str | None = None  # the feed found by autodiscovery, polled instead of the page
    failing_since: float | None = None  # first failure of the current run of failures
    down_alerted: bool = False  # the ops channels were told this source is down
    last_poll_end: float | None = None  # when the last poll was recorded
    body_hash: str | None = None  # of the last body read in full (servers without validators)
    # Adaptive polling (worker/pace.py): what the polls observed of the publishing rate.
    pace_since: float | None = None  # the last successful poll, up to which entries are counted
    pace_span: float = 0.0  # seconds observed in all
    pace_recent: float = 0.0  # new entries, exponentially weighted over about an hour
    pace_longrun: float = 0.0  # new entries, exponentially weighted over about a day
    pace_interval: float | None = None  # the interval the policy chose last

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> SourceState:
        # Keys this version does not know (written by a newer one) are dropped, not fatal.
        data = json.loads(text)
        return cls(**{key: value for key, value in data.items() if key in _STATE_FIELDS})


_STATE_FIELDS = frozenset(f.name for f in fields(SourceState))


class TopicRef(TypedDict):
    id: str
    name: str


class AlertRecord(TypedDict):
    """Everything needed to send an alert again (worker/ledger.py writes and reads it)."""

    event: NotRequired[str]  # absent from older records: read as "topic.match"
    topic: TopicRef  # its name, should the topic leave the config before the alert is sent
    article: dict[str, Any]  # Article.to_dict()
    match: MatchRecord
    detected_at: str  # ISO 8601


# What a WebSub subscription is doing (worker/websub/).
SUB_DISCOVERED = "discovered"  # the feed names a hub; not subscribed (off, or between tries)
SUB_SUBSCRIBING = "subscribing"  # asked the hub; waiting for its verification of intent
SUB_ACTIVE = "active"  # verified: the hub pushes until `expires_at`
SUB_RENEWING = "renewing"  # active, and asked the hub again before the lease ends
SUB_UNSUBSCRIBING = "unsubscribing"  # asked the hub to stop; waiting for its verification


def _revision() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Subscription:
    """One source's WebSub subscription: the hub and topic its feed advertises and where
    the subscription stands. `revision` changes on every write: the store only replaces
    the revision a writer read (put_subscription), so the scheduler and the web service
    answering the hub never undo each other's step."""

    source_id: str
    hub: str
    topic: str
    state: str = SUB_DISCOVERED
    callback: str = ""
    secret: str = ""  # hub.secret of this subscription: signs the pushes; never logged
    lease_seconds: float = 0.0  # as granted by the hub in its verification
    expires_at: float | None = None  # when the granted lease ends
    check_at: float | None = None  # when the scheduler looks at it next (None: never)
    failures: int = 0  # consecutive requests the hub refused or never verified
    last_error: str | None = None
    revision: str = field(default_factory=_revision)

    @property
    def receives(self) -> bool:
        """Whether pushes signed with its secret are taken (verified and not lapsed)."""
        return (self.state in (SUB_ACTIVE, SUB_RENEWING) and bool(self.secret)
                and (self.expires_at or 0.0) > time.time())

    def but(self, **changes: Any) -> Subscription:
        """A copy with `changes` and a new revision."""
        return replace(self, revision=_revision(), **changes)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> Subscription:
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One ledger record: an alert for (article, topic, channel)."""

    alert_id: str
    article_id: str
    topic_id: str
    channel_id: str
    alert: AlertRecord  # everything needed to send it again (see ledger.alert_to_record)
    state: str = PENDING
    attempts: int = 0
    last_error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    next_attempt_at: float = 0.0
    lease_until: float = 0.0
    also_reported_by: list[str] = field(default_factory=list)

    @property
    def outlet(self) -> str:
        """Who published the alert's article (as named in also_reported_by)."""
        source = self.alert.get("article", {}).get("source") or {}
        return source.get("name") or source.get("domain") or source.get("id") or ""

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies the alert on every ledger write.
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        return cls(**data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Delivery:
        return cls.from_dict(json.loads(text))

    def but(self, **changes: Any) -> Delivery:
        return replace(self, **changes)


class Store(ABC):
    """The one interface the pipeline uses to remember things."""

    # Errors meaning "the store itself is unreachable or failing", as opposed to bad data.
    unavailable: tuple[type[Exception], ...] = ()

    # --- sources: validators, health, schedule --------------------------------------

    @abstractmethod
    def source_state(self, source_id: str) -> SourceState: ...

    @abstractmethod
    def save_source_state(self, state: SourceState) -> None: ...

    def record_poll(self, state: SourceState, counts: dict[str, int], due_at: float,
                    entries: EntryOutcomes | None = None) -> None:
        """What a finished poll leaves behind: its entries' seen marks (and the claims of
        the entries it could not finish, released), its source's state, its counts, its
        next due time. Stores override this to write it all in one round trip."""
        if entries is not None:
            self.finish_entries(entries)
        self.save_source_state(state)
        self.add_counts(counts)
        self.schedule(state.source_id, due_at)

    @abstractmethod
    def schedule(self, source_id: str, due_at: float) -> None:
        """Set when a source is next due (the scheduler's sorted set)."""

    @abstractmethod
    def schedule_new(self, source_id: str, due_at: float) -> None:
        """Schedule a source only if it is not scheduled yet (two schedulers starting
        together must not reset each other's claims)."""

    @abstractmethod
    def unschedule(self, source_id: str) -> None: ...

    @abstractmethod
    def claim_due(self, now: float, hold: float, limit: int = 1000) -> list[str]:
        """Atomically take the sources due at `now` and push each `hold` seconds ahead.

        The hold stops a second scheduler (or the next tick) from taking the same
        source while its poll runs; the poll then sets the real next due time.
        """

    @abstractmethod
    def scheduled(self) -> dict[str, float]:
        """Every scheduled source with its due time."""

    # --- seen articles and fingerprints ------------------------------------------------

    @abstractmethod
    def claim_entries(self, keys: list[str], ttl: float) -> list[str]:
        """For each key, in one step: ENTRY_SEEN when a poll has finished that entry,
        ENTRY_BUSY while another poll's claim on it lives, else ENTRY_NEW, and this call
        claims it for `ttl` seconds.

        A claim only keeps two polls from doing the same work at once; it is not a seen
        mark. A poll that dies leaves claims that run out, and the entries are new again.
        """

    @abstractmethod
    def finish_entries(self, entries: EntryOutcomes) -> None:
        """Mark `done` keys seen for `entries.seen_ttl` seconds and release the claims of
        `failed` ones, so that the next poll tries them again."""

    @abstractmethod
    def add_fingerprint(self, article_id: str, fingerprint: int, outlet: str, at: float) -> None: ...

    @abstractmethod
    def fingerprints_since(self, since: float) -> list[tuple[str, int, str]]:
        """(article_id, fingerprint, outlet) recorded at or after `since`."""

    # --- delivery ledger --------------------------------------------------------------

    @abstractmethod
    def create_delivery(self, delivery: Delivery, digest: bool = False) -> bool:
        """Insert if no record has this alert id; True when this call created it.

        With `digest`, the alert joins its channel's digest in the same step: a record
        that exists is always either due for sending or waiting in a digest.
        """

    @abstractmethod
    def delivery(self, alert_id: str) -> Delivery | None: ...

    @abstractmethod
    def claim_delivery(self, alert_id: str, now: float, lease: float,
                       held_until: float | None = None) -> Delivery | None:
        """Take a pending delivery whose retry time has come and no live lease holds.

        Returns the record with attempts incremented and a lease until now+lease,
        or None when it is sent, failed, not yet due, or held by another worker.
        `held_until` takes over a live lease that still ends exactly then: the lease its
        creator took and handed to the deliver message, which nobody has claimed since
        (worker/lease.py, rule 4).
        """

    @abstractmethod
    def finish_delivery(self, alert_id: str, state: str, error: str | None, now: float) -> None:
        """Record the outcome: SENT or FAILED (final), clearing the lease; counts it as
        "sent" or "undeliverable" in the activity counters in the same step."""

    @abstractmethod
    def retry_delivery(self, alert_id: str, error: str, next_attempt_at: float, now: float) -> None:
        """Back to pending after a failed attempt, due again at `next_attempt_at`
        (counted as "retrying")."""

    @abstractmethod
    def add_also_reported(self, alert_id: str, outlet: str) -> None:
        """Name another outlet on an alert, once, unless it is the alert's own outlet
        (the same article read again from another feed)."""

    @abstractmethod
    def due_deliveries(self, now: float, limit: int = 500) -> list[str]:
        """Pending deliveries due now whose lease (if any) has expired: retries and orphans."""

    @abstractmethod
    def recent_deliveries(self, limit: int = 20) -> list[Delivery]: ...

    @abstractmethod
    def delivery_counts(self) -> dict[str, int]: ...

    # --- digests ----------------------------------------------------------------------

    @abstractmethod
    def digest_items(self, channel_id: str) -> list[str]:
        """The alert ids waiting for a channel's digest, oldest first. They stay until
        `remove_from_digest`: a digest cut short by a crash is sent in the next period."""

    @abstractmethod
    def remove_from_digest(self, channel_id: str, alert_ids: list[str]) -> None: ...

    @abstractmethod
    def digest_due(self, channel_id: str) -> float | None: ...

    @abstractmethod
    def set_digest_due(self, channel_id: str, at: float) -> None: ...

    # --- housekeeping --------------------------------------------------------------------

    def sweep(self, now: float, limit: int = 10_000) -> int:
        """Delete up to `limit` records that have run out (seen marks, entry claims, locks);
        how many went. The tick calls it: a store whose records expire on their own
        (Redis) has nothing to do."""
        return 0

    # --- activity counters (the periodic cycle line) ------------------------------------

    @abstractmethod
    def add_counts(self, counts: dict[str, int]) -> None:
        """Add to the shared activity counters (polls, new articles, deliveries…)."""

    @abstractmethod
    def take_counts(self) -> dict[str, int]:
        """Atomically read the counters and reset them to zero."""

    # --- robots.txt, shared by every process -------------------------------------------

    @abstractmethod
    def robots_txt(self, site: str) -> str | None:
        """The robots.txt record saved for `site` ("https://host:port"), None once expired."""

    @abstractmethod
    def save_robots_txt(self, site: str, record: str, ttl: float) -> None:
        """Keep `record` (opaque text, see worker.fetch.robots) for `site` for `ttl` seconds."""
    # --- WebSub subscriptions ----------------------------------------------------------

    @abstractmethod
    def subscription(self, source_id: str) -> Subscription | None: ...

    @abstractmethod
    def subscriptions(self) -> list[Subscription]:
        """Every subscription record (for reconciling them with an edited config)."""

    @abstractmethod
    def put_subscription(self, subscription: Subscription, replaces: str | None) -> bool:
        """Store `subscription` (and schedule it at its `check_at`) if the stored record's
        revision is still `replaces` (None: there is no record); False when another writer
        changed it first, and nothing is written."""

    @abstractmethod
    def drop_subscription(self, source_id: str, replaces: str) -> bool:
        """Delete the record if its revision is still `replaces`."""

    @abstractmethod
    def claim_subscriptions(self, now: float, hold: float, limit: int = 200) -> list[str]:
        """Atomically take the subscriptions whose `check_at` has come and push their
        check `hold` seconds ahead (as claim_due does for polls); the record is unchanged."""

    # --- coordination -----------------------------------------------------------------

    @abstractmethod
    def try_lock(self, name: str, token: str, ttl: float) -> bool:
        """Take a named lock for `ttl` seconds unless someone else holds it."""

    @abstractmethod
    def unlock(self, name: str, token: str) -> None:
        """Release the lock if `token` still holds it (an expired lock is not stolen back)."""

    @contextmanager
    def lock(self, name: str, ttl: float = 30.0, wait: float = 60.0) -> Iterator[None]:
        """Hold a named lock across workers; raises TimeoutError after `wait` seconds."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        pause = 0.002
        while not self.try_lock(name, token, ttl):
            if time.monotonic() > deadline:
                raise TimeoutError(f"lock {name!r} still held after {wait:g}s")
            time.sleep(pause)  # back off: the holder needs milliseconds, not a busy loop
            pause = min(pause * 2, 0.1)
        try:
            yield
        finally:
            self.unlock(name, token)

    # --- lifecycle --------------------------------------------------------------------

    def close(self) -> None:  # noqa: B027 - optional for implementations
        pass
