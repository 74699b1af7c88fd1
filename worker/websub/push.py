"""A hub's push (content distribution) through the poll's own path.

The pushed body is read by the same feed reader as a polled one, and its entries are
claimed, turned into articles and alerted by the same functions (poll.claim_new_entries,
poll.process_claimed) with the same seen marks: an entry pushed and later polled (or polled
while its push is being processed) is alerted once. An entry that fails here is released
and picked up by the next poll.
"""

from __future__ import annotations

import base64
import logging
import time

from ..fetch import FetchResponse
from ..logs import ms_since, summary
from ..poll import PollResult, claim_new_entries, process_claimed
from ..runtime import Runtime
from ..sources import SourceError, read_feed
from ..store import EntryOutcomes


def pushed_response(topic: str, body: bytes, content_type: str | None) -> FetchResponse:
    """The push as if the topic had been fetched: what the feed reader takes."""
    return FetchResponse(url=topic, status=200, headers={}, body=body, not_modified=False,
                         etag=None, last_modified=None, elapsed_ms=0, content_type=content_type,
                         max_age=None, retry_after=None)


def receive_push(rt: Runtime, source_id: str, body_b64: str, content_type: str | None,
                 topic: str) -> PollResult:
    """Process one verified push for `source_id` (the websub_push job)."""
    started = time.monotonic()
    result = PollResult(source_id, "ok")
    try:
        source = rt.config.source(source_id)
    except StopIteration:
        result.status, result.error = "skipped", "not in this worker's config"
        summary("websub_push", logging.WARNING, source=source_id, status=result.status,
                error=result.error)
        return result
    try:
        entries, _ = read_feed(pushed_response(topic, base64.b64decode(body_b64), content_type))
    except (SourceError, ValueError) as error:
        result.status, result.error = "error", f"bad push: {error}"[:300]
        summary("websub_push", logging.WARNING, source=source_id, status="error", error=result.error)
        return result
    result.entries = len(entries)
    claimed = claim_new_entries(rt, entries, result, rt.config.settings.poll_claim)
    done: list[str] = []
    failed: list[str] = []
    try:
        process_claimed(rt, source, claimed, result, done, failed)
    finally:
        # Claims this push never finished are released at once, for the next poll.
        finished = set(done) | set(failed)
        failed += [key for _, key in claimed if key not in finished]
        rt.store.finish_entries(EntryOutcomes(tuple(done), tuple(failed),
                                              rt.config.settings.dedup_window))
    rt.store.add_counts({"pushed": 1, "entries": result.entries, "new": result.new,
                         "matched": result.matched, "alerts": result.alerts})
    summary("websub_push", source=source_id, status=result.status, entries=result.entries,
            new=result.new, matched=result.matched, alerts=result.alerts,
            entry_errors=result.entry_errors or None, busy=result.busy or None, ms=ms_since(started))
    return result
