"""Plain-text output for the terminal: aligned tables and per-day bars."""

from __future__ import annotations

from collections.abc import Iterable

BAR = "█"
BAR_WIDTH = 40


def table(header: list[str], rows: Iterable[list[object]]) -> list[str]:
    """Columns padded to their widest cell, a dashed rule under the header."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for number, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def day_bars(per_day: dict[str, int], width: int = BAR_WIDTH) -> list[str]:
    """One line per day: the date, a bar scaled to the busiest day, the count."""
    top = max(per_day.values(), default=0)
    lines = []
    for day, count in per_day.items():
        length = round(count / top * width) if top else 0
        if count and not length:
            length = 1  # a day with matches always shows some bar
        lines.append(f"{day}  {BAR * length}{' ' if length else ''}{count}")
    return lines


def clip(text: str, width: int) -> str:
    """One line of at most `width` characters (an ellipsis marks the cut)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
