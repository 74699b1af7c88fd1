"""One contract, two homes: every test runs against SQLite and a real Redis."""

from __future__ import annotations

import threading
import time

import pytest

from worker.ledger import NEVER
from worker.store import ENTRY_BUSY, ENTRY_NEW, ENTRY_SEEN, FAILED, PENDING, SENT, Delivery, EntryOutcomes, SourceState
from worker.store.redis import RedisStore
from worker.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.services)])
def store(request, tmp_path):
    if request.param == "sqlite":
        backend = SQLiteStore(tmp_path / "state.db")
    else:
        backend = RedisStore(request.getfixturevalue("redis_url"))
    yield backend
    backend.close()


def make_delivery(alert_id: str = "a1", now: float = 1000.0) -> Delivery:
    return Delivery(alert_id=alert_id, article_id="art", topic_id="t", channel_id="c",
                    alert={"title": "Ü"}, created_at=now, updated_at=now, next_attempt_at=now)


def test_source_state_round_trip(store):
    assert store.source_state("s1") == SourceState("s1")
    state = SourceState("s1", etag='"x"', last_modified="Sat", failures=2, last_status="error")
    store.save_source_state(state)
    assert store.source_state("s1") == state


def test_the_pace_of_a_source_is_kept_with_its_poll(store):
    pace = {"pace_since": 1000.5, "pace_span": 7200.0, "pace_recent": 2.5,
            "pace_longrun": 11.25, "pace_interval": 95.0}
    state = SourceState("s1", last_status="ok", **pace)
    store.record_poll(state, {"polled": 1}, due_at=1095.5)
    kept = store.source_state("s1")
    assert kept == state and {key: getattr(kept, key) for key in pace} == pace
    assert store.scheduled()["s1"] == 1095.5


def test_claim_due_takes_each_source_once(store):
    store.schedule("a", 10.0)
    store.schedule("b", 20.0)
    store.schedule("c", 99.0)
    assert sorted(store.claim_due(now=50.0, hold=60.0)) == ["a", "b"]
    assert store.claim_due(now=50.0, hold=60.0) == []  # held until 110
    assert sorted(store.claim_due(now=111.0, hold=60.0)) == ["a", "b", "c"]
    store.unschedule("c")
    assert set(store.scheduled()) == {"a", "b"}
    store.schedule_new("a", 0.0)  # already scheduled: left alone
    store.schedule_new("d", 5.0)
    assert store.scheduled()["a"] > 100 and store.scheduled()["d"] == 5.0


def test_an_entry_is_claimed_by_one_poll_and_seen_only_once_finished(store):
    assert store.claim_entries(["k", "n1", "n2", "n1"], ttl=60) == [
        ENTRY_NEW, ENTRY_NEW, ENTRY_NEW, ENTRY_BUSY]
    assert store.claim_entries(["k"], ttl=60) == [ENTRY_BUSY]  # another poll has it
    store.finish_entries(EntryOutcomes(done=("k",), failed=("n1",), seen_ttl=60))
    # Finished: seen. Failed: free for the next poll. Not finished at all: still claimed.
    assert store.claim_entries(["k", "n1", "n2"], ttl=60) == [ENTRY_SEEN, ENTRY_NEW, ENTRY_BUSY]
    assert store.claim_entries([], ttl=60) == []


def test_a_claim_left_by_a_dead_poll_runs_out(store):
    assert store.claim_entries(["k"], ttl=0.2) == [ENTRY_NEW]
    deadline = time.monotonic() + 5
    while store.claim_entries(["k"], ttl=0.2) != [ENTRY_NEW]:
        assert time.monotonic() < deadline, "the claim never ran out"
        time.sleep(0.05)


def test_a_poll_record_carries_its_seen_marks(store):
    store.claim_entries(["k", "f"], ttl=60)
    store.record_poll(SourceState("s1"), {"polled": 1}, due_at=5.0,
                      entries=EntryOutcomes(done=("k",), failed=("f",), seen_ttl=60))
    assert store.claim_entries(["k", "f"], ttl=60) == [ENTRY_SEEN, ENTRY_NEW]


def test_fingerprints_window(store):
    store.add_fingerprint("x", 2**63 + 5, "kompas.com", at=100.0)
    store.add_fingerprint("y", 7, "detik.com", at=200.0)
    assert store.fingerprints_since(150.0) == [("y", 7, "detik.com")]
    # The window only moves on: what fell out of it is gone, the store stays bounded.
    assert store.fingerprints_since(50.0) == [("y", 7, "detik.com")]


def test_a_sweep_forgets_run_out_marks_and_claims_and_keeps_live_ones(store):
    store.claim_entries(["live", "dead", "seen-live", "seen-dead"], ttl=60)
    store.finish_entries(EntryOutcomes(done=("seen-live",), failed=(), seen_ttl=60))
    store.finish_entries(EntryOutcomes(done=("seen-dead",), failed=(), seen_ttl=0.01))
    store.claim_entries(["dead"], ttl=0.01)  # a claim after its failure: taken at once
    store.finish_entries(EntryOutcomes(done=(), failed=("dead",), seen_ttl=60))
    assert store.claim_entries(["dead"], ttl=0.01) == [ENTRY_NEW]
    ran_out = time.time() + 0.05
    deadline = time.monotonic() + 5
    while time.time() < ran_out:  # both short records have run out by the clock
        assert time.monotonic() < deadline
    # SQLite deletes the two run-out rows; Redis has let them expire by itself.
    assert store.sweep(time.time()) == (2 if isinstance(store, SQLiteStore) else 0)
    assert store.sweep(time.time()) == 0
    assert store.claim_entries(["live", "seen-live", "dead", "seen-dead"], ttl=60) == [
        ENTRY_BUSY, ENTRY_SEEN, ENTRY_NEW, ENTRY_NEW]


def test_a_finished_poll_is_recorded_in_one_step(store):
    state = SourceState("s1", etag='"e"', last_status="ok", last_poll=10.0)
    store.record_poll(state, {"polled": 1, "new": 3, "failed": 0}, due_at=310.0)
    assert store.source_state("s1") == state
    assert store.scheduled() == {"s1": 310.0}
    assert store.take_counts() == {"polled": 1, "new": 3}


def test_delivery_created_once(store):
    assert store.create_delivery(make_delivery()) is True
    assert store.create_delivery(make_delivery()) is False
    record = store.delivery("a1")
    assert record.state == PENDING and record.alert == {"title": "Ü"} and record.attempts == 0
    assert store.delivery_counts()[PENDING] == 1


def test_delivery_lease_and_retry(store):
    store.create_delivery(make_delivery(now=1000.0))
    claimed = store.claim_delivery("a1", now=1000.0, lease=120.0)
    assert claimed is not None and claimed.attempts == 1
    # held by a live lease: nobody else gets it
    assert store.claim_delivery("a1", now=1010.0, lease=120.0) is None
    assert store.due_deliveries(now=1010.0) == []
    # a crashed worker's lease runs out: the delivery is due again
    assert store.due_deliveries(now=1121.0) == ["a1"]
    store.retry_delivery("a1", "http 500", next_attempt_at=1200.0, now=1010.0)
    assert store.claim_delivery("a1", now=1100.0, lease=120.0) is None  # not yet due
    again = store.claim_delivery("a1", now=1200.0, lease=120.0)
    assert again.attempts == 2 and again.last_error == "http 500"
    store.finish_delivery("a1", SENT, None, now=1201.0)
    assert store.delivery("a1").state == SENT
    assert store.take_counts() == {"retrying": 1, "sent": 1}
    assert store.claim_delivery("a1", now=9999.0, lease=1.0) is None
    assert store.due_deliveries(now=9999.0) == []
    assert store.delivery_counts() == {PENDING: 0, SENT: 1, FAILED: 0}


def test_delivery_created_claimed_for_its_first_attempt(store):
    handed = make_delivery(now=1000.0).but(attempts=1, lease_until=1120.0)
    assert store.create_delivery(handed) is True
    record = store.delivery("a1")
    assert (record.attempts, record.lease_until) == (1, 1120.0)
    # the creator's lease holds it: no claim, and the tick does not hand it out again
    assert store.claim_delivery("a1", now=1010.0, lease=120.0) is None
    assert store.due_deliveries(now=1119.0) == []
    # the message was lost: the tick recovers it once the lease runs out
    assert store.due_deliveries(now=1121.0) == ["a1"]
    assert store.claim_delivery("a1", now=1121.0, lease=120.0).attempts == 2


def test_the_message_holding_the_creators_lease_may_take_it_over(store):
    store.create_delivery(make_delivery(now=1000.0).but(attempts=1, lease_until=1120.25))
    assert store.claim_delivery("a1", now=1010.0, lease=120.0, held_until=1120.0) is None
    taken = store.claim_delivery("a1", now=1010.0, lease=120.0, held_until=1120.25)
    assert (taken.attempts, taken.lease_until) == (2, 1130.0)
    # the lease is now the taker's: the creator's no longer opens it
    assert store.claim_delivery("a1", now=1011.0, lease=120.0, held_until=1120.25) is None
    store.finish_delivery("a1", SENT, None, now=1012.0)
    assert store.claim_delivery("a1", now=1013.0, lease=120.0, held_until=1130.0) is None


def test_failed_and_recent(store):
    store.create_delivery(make_delivery("a1", now=1.0))
    store.create_delivery(make_delivery("a2", now=2.0))
    store.claim_delivery("a2", now=3.0, lease=10)
    store.finish_delivery("a2", FAILED, "http 410", now=4.0)
    recent = store.recent_deliveries(10)
    assert [d.alert_id for d in recent] == ["a2", "a1"]
    assert recent[0].state == FAILED and recent[0].last_error == "http 410"


def test_also_reported(store):
    store.create_delivery(make_delivery())
    store.add_also_reported("a1", "detik.com")
    store.add_also_reported("a1", "detik.com")
    store.add_also_reported("a1", "tempo.co")
    assert store.delivery("a1").also_reported_by == ["detik.com", "tempo.co"]


def test_an_alert_never_names_its_own_outlet_as_another(store):
    record = make_delivery().but(alert={"article": {"source": {"id": "k", "name": "Kompas.com"}}})
    store.create_delivery(record)
    store.add_also_reported("a1", "Kompas.com")
    assert store.delivery("a1").also_reported_by == []
    store.add_also_reported("a1", "ANTARA")
    assert store.delivery("a1").also_reported_by == ["ANTARA"]


def test_digest_queue(store):
    assert store.digest_due("c") is None
    store.set_digest_due("c", 50.0)
    assert store.digest_due("c") == 50.0
    waiting = {"next_attempt_at": NEVER}  # as the pipeline creates digest alerts
    assert store.create_delivery(make_delivery("a1").but(**waiting), digest=True)
    assert store.create_delivery(make_delivery("a2").but(**waiting), digest=True)
    assert not store.create_delivery(make_delivery("a1").but(**waiting), digest=True)
    assert store.digest_items("c") == ["a1", "a2"]
    assert store.digest_items("c") == ["a1", "a2"]  # reading does not take them
    store.remove_from_digest("c", ["a1"])
    assert store.digest_items("c") == ["a2"]
    assert store.due_deliveries(now=2000.0) == []  # only the digest sends them


def test_racing_claims_have_one_winner(store, tmp_path):
    store.create_delivery(make_delivery())
    winners = []

    def claim():
        if store.claim_delivery("a1", now=1000.0, lease=60.0) is not None:
            winners.append(1)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_lock_excludes_and_expires(store):
    assert store.try_lock("x", "me", ttl=60) is True
    assert store.try_lock("x", "you", ttl=60) is False
    store.unlock("x", "you")  # not the holder: nothing happens
    assert store.try_lock("x", "you", ttl=60) is False
    store.unlock("x", "me")
    assert store.try_lock("x", "you", ttl=0.05) is True
    with store.lock("x", wait=5):  # the 50 ms lease runs out; the waiter gets it
        assert store.try_lock("x", "third", ttl=60) is False
    assert store.try_lock("x", "third", ttl=60) is True


def test_activity_counts_add_up_and_reset(store):
    assert store.take_counts() == {}
    store.add_counts({"polled": 1, "new": 3, "failed": 0, "not_modified": True})
    store.add_counts({"polled": 1, "sent": 2})
    assert store.take_counts() == {"polled": 2, "new": 3, "sent": 2, "not_modified": 1}
    assert store.take_counts() == {}


def test_a_robots_txt_record_is_shared_until_it_expires(store):
    site = "https://news.example:443"
    assert store.robots_txt(site) is None
    store.save_robots_txt(site, '{"outcome": "ok", "body": "User-agent: *\\nDisallow: /ü"}', ttl=60)
    assert store.robots_txt(site) == '{"outcome": "ok", "body": "User-agent: *\\nDisallow: /ü"}'
    assert store.robots_txt("https://other.example:443") is None
    store.save_robots_txt(site, "replaced", ttl=0.2)
    assert store.robots_txt(site) == "replaced"
    deadline = time.monotonic() + 5
    while store.robots_txt(site) is not None:
        assert time.monotonic() < deadline, "the robots.txt record never expired"
        time.sleep(0.05)


# --- WebSub subscriptions -------------------------------------------------------------


def test_a_subscription_is_written_only_over_the_revision_its_writer_read(store):
    from worker.store import SUB_ACTIVE, SUB_SUBSCRIBING, Subscription

    assert store.subscription("s1") is None
    first = Subscription("s1", hub="http://hub/", topic="http://site/feed", check_at=10.0)
    assert store.put_subscription(first, replaces="some-revision") is False  # there is none
    assert store.put_subscription(first, replaces=None) is True
    assert store.put_subscription(first, replaces=None) is False  # it exists now
    assert store.subscription("s1") == first
    pending = first.but(state=SUB_SUBSCRIBING, secret="k", check_at=50.0)
    active = first.but(state=SUB_ACTIVE, secret="k", check_at=None)
    assert pending.revision != first.revision
    assert store.put_subscription(pending, replaces=first.revision) is True
    # A second writer that read `first` too loses: its step would undo the first one's.
    assert store.put_subscription(active, replaces=first.revision) is False
    assert store.subscription("s1") == pending
    assert store.subscriptions() == [pending]
    assert store.drop_subscription("s1", replaces=first.revision) is False
    assert store.drop_subscription("s1", replaces=pending.revision) is True
    assert store.subscription("s1") is None and store.subscriptions() == []


def test_subscriptions_come_due_once_at_their_check_time(store):
    from worker.store import Subscription

    for name, check_at in (("a", 10.0), ("b", 20.0), ("c", 99.0), ("d", None)):
        store.put_subscription(Subscription(name, "http://hub/", "http://t/", check_at=check_at), None)
    assert sorted(store.claim_subscriptions(now=50.0, hold=60.0)) == ["a", "b"]
    assert store.claim_subscriptions(now=50.0, hold=60.0) == []  # held until 110
    assert sorted(store.claim_subscriptions(now=111.0, hold=60.0)) == ["a", "b", "c"]
    # A write sets the check time anew; None takes the record off the schedule.
    b = store.subscription("b")
    store.put_subscription(b.but(check_at=None), replaces=b.revision)
    assert sorted(store.claim_subscriptions(now=1e12, hold=60.0)) == ["a", "c"]
    assert store.subscription("a").check_at == 10.0  # the claim left the record as it was
