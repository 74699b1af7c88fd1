"""`newswatch once` on a terminal: a live progress line, then a summary table.

Piped or redirected, nothing here prints: the plain log lines are the output.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .embedded import CycleStats


class Progress:
    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self._last = ""

    @staticmethod
    def wanted(stream: TextIO = sys.stderr) -> bool:
        return stream.isatty()

    def update(self, counts: dict[str, int], total: int) -> None:
        line = (f"sources {counts['polled']}/{total} · new articles {counts['new']} · "
                f"alerts {counts['alerts']} · sent {counts['sent']} · failed {counts['failed']}")
        if line != self._last:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
            self._last = line

    def finish(self, stats: CycleStats) -> None:
        counts = stats.counts
        self.stream.write("\r\033[K")
        rows = [
            ("sources polled", counts["polled"]),
            ("  not modified", counts["not_modified"]),
            ("  failed", counts["failed"]),
            ("entries read", counts["entries"]),
            ("new articles", counts["new"]),
            ("matched", counts["matched"]),
            ("alerts created", counts["alerts"]),
            ("deliveries sent", counts["sent"]),
            ("  to retry later", counts["retrying"]),
            ("  failed for good", counts["undeliverable"]),
        ]
        width = max(len(label) for label, _ in rows)
        self.stream.write("\nnewswatch once — summary\n")
        for label, value in rows:
            self.stream.write(f"  {label.ljust(width)}  {value:>6}\n")
        for source_id, error in stats.failures[:20]:
            self.stream.write(f"  ! {source_id}: {error}\n")
        self.stream.flush()
