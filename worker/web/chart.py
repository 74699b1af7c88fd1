"""Alerts per day as an SVG bar chart, drawn on the server (no JavaScript needed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

HEIGHT = 120.0  # px of the tallest bar
PLOT_WIDTH = 640.0  # px the bars share (a 7-day window gets wide bars, 90 days thin ones)
MIN_BAR, MAX_BAR = 6.0, 48.0  # px per bar, gap included
LEFT = 28.0  # room for the y-axis label
TOP = 14.0
BOTTOM = 18.0


@dataclass(frozen=True)
class Bar:
    day: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    width: float
    height: float
    baseline: float
    first: str
    last: str


def days_between(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def bar_chart(per_day: dict[str, int], first: date, last: date) -> Chart:
    """One bar per day from `first` to `last` (days without alerts are 0-height bars);
    heights are proportional to the busiest day."""
    days = days_between(first, last)
    peak = max((per_day.get(day, 0) for day in days), default=0)
    step = min(MAX_BAR, max(MIN_BAR, PLOT_WIDTH / max(1, len(days))))
    gap = round(step * 0.2, 2)
    bars = []
    for index, day in enumerate(days):
        count = per_day.get(day, 0)
        height = round(count / peak * HEIGHT, 2) if peak else 0.0
        bars.append(Bar(day, count, round(LEFT + index * step, 2), TOP + HEIGHT - height,
                        step - gap, height))
    return Chart(bars, peak, LEFT + len(days) * step, TOP + HEIGHT + BOTTOM, TOP + HEIGHT,
                 days[0] if days else "", days[-1] if days else "")
