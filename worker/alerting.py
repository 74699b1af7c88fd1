"""Alerting: match an article against the topics and create one ledger record per
(story, topic, channel), naming other outlets on the first alert.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from . import dedup
from .identity import near_duplicate_identity, outlet_name
from .ledger import create_delivery
from .models import Alert, Article, Match
from .runtime import Runtime


def match_and_alert(rt: Runtime, article: Article) -> dict[str, int]:
    scan = rt.topic_index.scan(article)
    matches = rt.topic_index.match(article, scan)
    alerts: list[tuple[str, str, str]] = []  # (topic, channel, alert id), for history
    counts = {"matched": 0, "alerts": 0}
    if matches:
        # One lock over look-up, fingerprint insert and ledger records: a republication seen
        # by another worker at the same moment finds the original's deliveries in place.
        # Held for milliseconds; its ttl only matters when its holder was killed.
        with rt.store.lock("fingerprints", ttl=10.0):
            counts = _alert_matches(rt, article, matches, alerts)
    # Guarded: an outage logs once, never raises. The matcher's words feed the word index.
    rt.history.record(article, matches, alerts, words=scan.norms)
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
