"""The distributed store: Redis, shared by every worker and scheduler.

Decisions that two workers may race on (claiming due sources, creating and
claiming deliveries) run as Lua scripts, which Redis executes atomically.
A delivery is a hash: the immutable part as JSON, the mutable fields as plain
hash fields so the scripts never have to re-encode JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

import redis

from .base import (
    ENTRY_BUSY,
    ENTRY_NEW,
    ENTRY_SEEN,
    FAILED,
    PENDING,
    SENT,
    Delivery,
    EntryOutcomes,
    SourceState,
    Store,
    Subscription,
)

_P = "newswatch:"
SOURCE_STATE = _P + "source_state"
SCHEDULE = _P + "schedule"
SEEN = _P + "seen:"
ENTRY_CLAIM = _P + "entry_claim:"
FINGERPRINTS = _P + "fingerprints"
DELIVERY = _P + "delivery:"
DELIVERIES_DUE = _P + "deliveries:due"  # pending, score = max(next attempt, lease end)
DELIVERIES_RECENT = _P + "deliveries:recent"  # score = last update
DELIVERY_COUNTS = _P + "deliveries:counts"
DIGEST = _P + "digest:"
DIGEST_DUE = _P + "digest_due"
LOCK = _P + "lock:"
ROBOTS = _P + "robots:"
COUNTS = _P + "counts"
WEBSUB = _P + "websub"  # source id -> subscription JSON
WEBSUB_REVISION = _P + "websub:revision"  # source id -> the record's revision
WEBSUB_DUE = _P + "websub:due"  # source id, score = check_at

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""

# KEYS: seen key, claim key, for every entry in turn. ARGV: claim ttl in ms.
# Returns per entry 0 (seen), 1 (claimed now), 2 (another poll's claim lives).
_CLAIM_ENTRIES = """
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then out[#out + 1] = 0
  elseif redis.call('SET', KEYS[i + 1], 1, 'NX', 'PX', ARGV[1]) then out[#out + 1] = 1
  else out[#out + 1] = 2 end
end
return out
"""
_ENTRY_STATES = {0: ENTRY_SEEN, 1: ENTRY_NEW, 2: ENTRY_BUSY}

# ARGV: data, next_attempt_at, updated_at, alert_id, attempts, lease_until, outlet.
# KEYS[5], when given, is the channel's digest list: the alert joins it in the same step.
_CREATE_DELIVERY = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'state', 'pending', 'attempts', ARGV[5],
           'next_attempt_at', ARGV[2], 'lease_until', ARGV[6], 'updated_at', ARGV[3],
           'also', '[]', 'last_error', '', 'outlet', ARGV[7])
redis.call('ZADD', KEYS[2], math.max(tonumber(ARGV[2]), tonumber(ARGV[6])), ARGV[4])
if KEYS[5] then redis.call('RPUSH', KEYS[5], ARGV[4]) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[4], 'pending', 1)
return 1
"""

# ARGV: now, lease, alert_id, held_until ('' for none)
_CLAIM_DELIVERY = """
local f = redis.call('HMGET', KEYS[1], 'state', 'next_attempt_at', 'lease_until')
if not f[1] or f[1] ~= 'pending' then return 0 end
local now = tonumber(ARGV[1])
if tonumber(f[2]) > now then return 0 end
if tonumber(f[3]) > now and tonumber(f[3]) ~= tonumber(ARGV[4]) then return 0 end
local lease = now + tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'lease_until', tostring(lease), 'updated_at', ARGV[1])
redis.call('ZADD', KEYS[2], lease, ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""

# ARGV: state, error, now, alert_id
_FINISH_DELIVERY = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'last_error', ARGV[2], 'lease_until', 0,
           'updated_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
if state ~= ARGV[1] then
  redis.call('HINCRBY', KEYS[4], state, -1)
  redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
end
redis.call('HINCRBY', KEYS[5], ARGV[5], 1)
return 1
"""

# ARGV: error, next_attempt_at, now, alert_id
_RETRY_DELIVERY = """
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[1], 'last_error', ARGV[1], 'next_attempt_at', ARGV[2],
           'lease_until', 0, 'updated_at', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[4], 'retrying', 1)
return 1
"""

_ADD_ALSO = """
local f = redis.call('HMGET', KEYS[1], 'also', 'outlet')
local also = f[1]
if not also or f[2] == ARGV[1] then return 0 end
local list = cjson.decode(also)
for _, outlet in ipairs(list) do if outlet == ARGV[1] then return 0 end end
table.insert(list, ARGV[1])
redis.call('HSET', KEYS[1], 'also', cjson.encode(list))
return 1
"""


def _text(reply: bytes | str) -> str:
    """A reply as text. This client returns bytes (no decode_responses); redis-py's types
    allow str too, as they cover both modes."""
    return reply.decode() if isinstance(reply, bytes) else reply


# KEYS: records, revisions, due set. ARGV: source id, expected revision ('' = no record),
# data ('' = delete), new revision, check_at ('' = not scheduled).
_PUT_SUBSCRIPTION = """
local current = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
if ARGV[5] == '' then redis.call('ZREM', KEYS[3], ARGV[1])
else redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1]) end
return 1
"""


class RedisStore(Store):
    unavailable = (redis.exceptions.RedisError,)

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10,
                                           health_check_interval=30)
        self._claim_due = self.client.register_script(_CLAIM_DUE)
        self._claim_entries = self.client.register_script(_CLAIM_ENTRIES)
        self._create = self.client.register_script(_CREATE_DELIVERY)
        self._claim = self.client.register_script(_CLAIM_DELIVERY)
        self._finish = self.client.register_script(_FINISH_DELIVERY)
        self._retry = self.client.register_script(_RETRY_DELIVERY)
        self._add_also = self.client.register_script(_ADD_ALSO)
        self._unlock = self.client.register_script(_UNLOCK)
        self._put_subscription = self.client.register_script(_PUT_SUBSCRIPTION)

    def close(self) -> None:
        self.client.close()

    # --- sources ----------------------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState:
        raw = self.client.hget(SOURCE_STATE, source_id)
        return SourceState.from_json(raw) if raw else SourceState(source_id)

    def save_source_state(self, state: SourceState) -> None:
        self.client.hset(SOURCE_STATE, state.source_id, state.to_json())

    def record_poll(self, state: SourceState, counts: dict[str, int], due_at: float,
                    entries: EntryOutcomes | None = None) -> None:
        pipe = self.client.pipeline(transaction=True)
        if entries is not None:
            _finish_entries(pipe, entries)
        pipe.hset(SOURCE_STATE, state.source_id, state.to_json())
        _increment(pipe, counts)
        pipe.zadd(SCHEDULE, {state.source_id: due_at})
        pipe.execute()

    def schedule(self, source_id: str, due_at: float) -> None:
        self.client.zadd(SCHEDULE, {source_id: due_at})

    def schedule_new(self, source_id: str, due_at: float) -> None:
        self.client.zadd(SCHEDULE, {source_id: due_at}, nx=True)

    def unschedule(self, source_id: str) -> None:
        self.client.zrem(SCHEDULE, source_id)

    def claim_due(self, now: float, hold: float, limit: int = 1000) -> list[str]:
        ids = self._claim_due(keys=[SCHEDULE], args=[now, now + hold, limit])
        return [i.decode() for i in ids]

    def scheduled(self) -> dict[str, float]:
        # withscores=True: (member, score) pairs; redis-py's return type does not narrow on it.
        pairs = cast("list[tuple[bytes, float]]", self.client.zrange(SCHEDULE, 0, -1, withscores=True))
        return {k.decode(): v for k, v in pairs}

    # --- seen -------------------------------------------------------------------------

    def claim_entries(self, keys: list[str], ttl: float) -> list[str]:
        if not keys:
            return []
        # One round trip for a whole feed.
        redis_keys = [name for key in keys for name in (SEEN + key, ENTRY_CLAIM + key)]
        replies = self._claim_entries(keys=redis_keys, args=[max(1, int(ttl * 1000))])
        return [_ENTRY_STATES[int(reply)] for reply in replies]

    def finish_entries(self, entries: EntryOutcomes) -> None:
        pipe = self.client.pipeline(transaction=True)
        _finish_entries(pipe, entries)
        pipe.execute()

    def add_fingerprint(self, article_id: str, fingerprint: int, outlet: str, at: float) -> None:
        member = json.dumps([article_id, str(fingerprint), outlet])
        self.client.zadd(FINGERPRINTS, {member: at}, nx=True)

    def fingerprints_since(self, since: float) -> list[tuple[str, int, str]]:
        found = []
        for member in cast("list[bytes]", self.client.zrangebyscore(FINGERPRINTS, since, "+inf")):
            article_id, fingerprint, outlet = json.loads(member)
            found.append((article_id, int(fingerprint), outlet))
        # Older entries can never match again: keep the set bounded.
        self.client.zremrangebyscore(FINGERPRINTS, "-inf", f"({since}")
        return found

    # --- deliveries -------------------------------------------------------------------

    def create_delivery(self, delivery: Delivery, digest: bool = False) -> bool:
        immutable = {
            "alert_id": delivery.alert_id, "article_id": delivery.article_id,
            "topic_id": delivery.topic_id, "channel_id": delivery.channel_id,
            "alert": delivery.alert, "created_at": delivery.created_at,
        }
        keys = [DELIVERY + delivery.alert_id, DELIVERIES_DUE, DELIVERIES_RECENT, DELIVERY_COUNTS]
        if digest:
            keys.append(DIGEST + delivery.channel_id)
        created = self._create(
            keys=keys,
            args=[json.dumps(immutable, ensure_ascii=False), repr(delivery.next_attempt_at),
                  repr(delivery.updated_at or delivery.created_at), delivery.alert_id,
                  delivery.attempts, repr(delivery.lease_until), delivery.outlet],
        )
        return bool(created)

    def delivery(self, alert_id: str) -> Delivery | None:
        return self._decode(self.client.hgetall(DELIVERY + alert_id))

    @staticmethod
    def _decode(fields: Mapping[bytes | str, bytes | str]) -> Delivery | None:
        if not fields:
            return None
        data = json.loads(fields[b"data"])
        return Delivery(
            **data,
            state=_text(fields[b"state"]),
            attempts=int(fields[b"attempts"]),
            last_error=_text(fields[b"last_error"]) or None,
            updated_at=float(fields[b"updated_at"]),
            next_attempt_at=float(fields[b"next_attempt_at"]),
            lease_until=float(fields[b"lease_until"]),
            also_reported_by=json.loads(fields[b"also"]) or [],
        )

    def _keys(self, alert_id: str) -> list[str]:
        return [DELIVERY + alert_id, DELIVERIES_DUE, DELIVERIES_RECENT, DELIVERY_COUNTS]

    def claim_delivery(self, alert_id: str, now: float, lease: float,
                       held_until: float | None = None) -> Delivery | None:
        # One round trip: the script returns the claimed record (a flat field/value list).
        held = "" if held_until is None else repr(held_until)
        flat = self._claim(keys=self._keys(alert_id)[:3], args=[repr(now), lease, alert_id, held])
        if not flat:
            return None
        return self._decode(dict(zip(flat[::2], flat[1::2], strict=True)))

    def finish_delivery(self, alert_id: str, state: str, error: str | None, now: float) -> None:
        assert state in (SENT, FAILED)
        outcome = "sent" if state == SENT else "undeliverable"
        self._finish(keys=[*self._keys(alert_id), COUNTS],
                     args=[state, error or "", repr(now), alert_id, outcome])

    def retry_delivery(self, alert_id: str, error: str, next_attempt_at: float, now: float) -> None:
        self._retry(keys=[*self._keys(alert_id)[:3], COUNTS],
                    args=[error, repr(next_attempt_at), repr(now), alert_id])

    def add_also_reported(self, alert_id: str, outlet: str) -> None:
        self._add_also(keys=[DELIVERY + alert_id], args=[outlet])

    def due_deliveries(self, now: float, limit: int = 500) -> list[str]:
        ids = cast("list[bytes]", self.client.zrangebyscore(DELIVERIES_DUE, "-inf", now, start=0, num=limit))
        return [i.decode() for i in ids]

    def recent_deliveries(self, limit: int = 20) -> list[Delivery]:
        ids = cast("list[bytes]", self.client.zrevrange(DELIVERIES_RECENT, 0, limit - 1))
        pipe = self.client.pipeline(transaction=False)
        for alert_id in ids:
            pipe.hgetall(DELIVERY + alert_id.decode())
        return [d for d in (self._decode(f) for f in pipe.execute()) if d is not None]

    def delivery_counts(self) -> dict[str, int]:
        counts = {PENDING: 0, SENT: 0, FAILED: 0}
        counts.update({_text(k): int(v) for k, v in self.client.hgetall(DELIVERY_COUNTS).items()})
        return counts

    # --- digests ----------------------------------------------------------------------

    def digest_items(self, channel_id: str) -> list[str]:
        return list(dict.fromkeys(_text(i) for i in self.client.lrange(DIGEST + channel_id, 0, -1)))

    def remove_from_digest(self, channel_id: str, alert_ids: list[str]) -> None:
        pipe = self.client.pipeline(transaction=True)
        for alert_id in alert_ids:
            pipe.lrem(DIGEST + channel_id, 0, alert_id)
        pipe.execute()

    def digest_due(self, channel_id: str) -> float | None:
        value = self.client.hget(DIGEST_DUE, channel_id)
        return float(value) if value is not None else None

    def set_digest_due(self, channel_id: str, at: float) -> None:
        self.client.hset(DIGEST_DUE, channel_id, at)

    # --- activity counters --------------------------------------------------------------

    def add_counts(self, counts: dict[str, int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        _increment(pipe, counts)
        pipe.execute()

    def take_counts(self) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(COUNTS)
        pipe.delete(COUNTS)
        values, _ = pipe.execute()
        return {k.decode(): int(v) for k, v in values.items()}

    # --- WebSub subscriptions ----------------------------------------------------------

    def subscription(self, source_id: str) -> Subscription | None:
        raw = self.client.hget(WEBSUB, source_id)
        return Subscription.from_json(raw) if raw else None

    def subscriptions(self) -> list[Subscription]:
        records = self.client.hgetall(WEBSUB)
        return [Subscription.from_json(records[key]) for key in sorted(records)]

    def put_subscription(self, subscription: Subscription, replaces: str | None) -> bool:
        sub = subscription
        check_at = "" if sub.check_at is None else repr(sub.check_at)
        return bool(self._put_subscription(
            keys=[WEBSUB, WEBSUB_REVISION, WEBSUB_DUE],
            args=[sub.source_id, replaces or "", sub.to_json(), sub.revision, check_at]))

    def drop_subscription(self, source_id: str, replaces: str) -> bool:
        return bool(self._put_subscription(keys=[WEBSUB, WEBSUB_REVISION, WEBSUB_DUE],
                                           args=[source_id, replaces, "", "", ""]))

    def claim_subscriptions(self, now: float, hold: float, limit: int = 200) -> list[str]:
        ids = self._claim_due(keys=[WEBSUB_DUE], args=[now, now + hold, limit])
        return [i.decode() for i in ids]

    # --- coordination -----------------------------------------------------------------

    def robots_txt(self, site: str) -> str | None:
        raw = self.client.get(ROBOTS + site)
        return _text(raw) if raw is not None else None

    def save_robots_txt(self, site: str, record: str, ttl: float) -> None:
        # Redis drops the key itself when it expires: no sweeping needed.
        self.client.set(ROBOTS + site, record.encode("utf-8"), px=max(1, int(ttl * 1000)))

    def try_lock(self, name: str, token: str, ttl: float) -> bool:
        return bool(self.client.set(LOCK + name, token, nx=True, px=max(1, int(ttl * 1000))))

    def unlock(self, name: str, token: str) -> None:
        self._unlock(keys=[LOCK + name], args=[token])


def _finish_entries(pipe: redis.client.Pipeline, entries: EntryOutcomes) -> None:
    ttl_ms = max(1, int(entries.seen_ttl * 1000))
    for key in entries.done:
        pipe.set(SEEN + key, 1, px=ttl_ms)
    claims = [ENTRY_CLAIM + key for key in (*entries.done, *entries.failed)]
    if claims:
        pipe.delete(*claims)


def _increment(pipe: redis.client.Pipeline, counts: dict[str, int]) -> None:
    for name, value in counts.items():
        if value:
            pipe.hincrby(COUNTS, name, int(value))  # redis-py refuses bools
