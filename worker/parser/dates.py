"""Dates to aware UTC datetimes, from machine-readable values or visible datelines.

Local newsroom forms are common in the sources we watch: Kompas prints
"21/11/2020, 20:00 WIB" and "Sabtu, 21 November 2020 20:00 WIB"; Indonesian
zones (WIB, WITA, WIT) are not known to dateutil, so they are mapped here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser

# Offsets in hours; ambiguous abbreviations (IST, CST…) take their most common meaning in news.
ZONES: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
    "MSK": 3, "AMT": 4, "AZT": 4, "IST": 5.5, "WIB": 7, "ICT": 7, "WITA": 8, "SGT": 8,
    "MYT": 8, "HKT": 8, "PHT": 8, "AWST": 8, "WIT": 9, "JST": 9, "KST": 9, "AEST": 10,
    "AEDT": 11, "NZST": 12, "NZDT": 13, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "HST": -10,
}
_TZINFOS = {name: timezone(timedelta(hours=hours)) for name, hours in ZONES.items()}


def _zone(name: str | None, offset: int | None) -> tzinfo | None:
    """dateutil's tzinfos hook: the zones above by name, else the numeric offset. A name nobody
    knows ("ZZ") leaves the time naive (read as UTC), as before, without dateutil's
    UnknownTimezoneWarning, which a future dateutil turns into an exception."""
    if name in _TZINFOS:
        return _TZINFOS[name]
    return timezone(timedelta(seconds=offset)) if offset is not None else None


MONTHS: dict[str, int] = {}
for number, names in enumerate(
    (
        "januari january jan", "februari february pebruari feb peb", "maret march mar",
        "april apr", "mei may", "juni june jun", "juli july jul",
        "agustus august agu agt aug", "september sept sep", "oktober october okt oct",
        "november nopember nov nop", "desember december des dec",
    ),
    start=1,
):
    for name in names.split():
        MONTHS[name] = number

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_ZONE = "|".join(sorted(ZONES, key=len, reverse=True))
_TIME = r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
_TAIL = rf"(?:[\s,|)\-–—]{{0,4}}(?:pukul\s+|jam\s+|at\s+)?{_TIME})?(?:\s*(?P<zone>{_ZONE})\b)?"
# 21/11/2020, 20:00 WIB  (day first: the convention of every outlet that prints it this way)
_NUMERIC = re.compile(rf"\b(?P<day>\d{{1,2}})[/.-](?P<month>\d{{1,2}})[/.-](?P<year>\d{{4}}){_TAIL}")
# Sabtu, 21 November 2020 20:00 WIB / 21 Nov 2020
_DAY_MONTH = re.compile(
    rf"\b(?P<day>\d{{1,2}})\s+(?P<month>{_MONTH})\.?\s+(?P<year>\d{{4}}){_TAIL}", re.IGNORECASE
)
# Nov 21, 2020 / November 21, 2020 8:00 PM EST
_MONTH_DAY = re.compile(
    rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}}){_TAIL}",
    re.IGNORECASE,
)
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def to_utc(moment: datetime, default_offset_hours: float = 0) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(hours=default_offset_hours)))
    return moment.astimezone(UTC)


def _plausible(moment: datetime) -> bool:
    return 1990 <= moment.year <= datetime.now(UTC).year + 1


def parse_date(value: object) -> datetime | None:
    """Any date string a feed, sitemap or page carries, to an aware UTC datetime; else None.

    In order: ISO 8601 / RFC 3339 (and epoch seconds), RFC 822 (RSS), then a visible
    dateline ("21/11/2020, 20:00 WIB"). Years outside 1990..next year are None. The one
    date parser of newswatch: feeds, sitemaps, pages and the fast feed path use it.
    """
    if not isinstance(value, str):
        return None
    value = value.strip()[:200]
    if not value:
        return None
    if _ISO_LIKE.match(value) or value.isdigit():
        moment = _parse_iso(value)
        if moment is not None:
            return moment
    rfc822 = _parse_rfc822(value)
    if rfc822 is not None and rfc822.tzinfo is not None:
        return _in_range(rfc822)
    # A zone email.utils does not know ("WIB") leaves it naive: the dateline reader knows it.
    return find_date(value) or (_in_range(rfc822) if rfc822 is not None else None)


def _parse_rfc822(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment


def _in_range(moment: datetime) -> datetime | None:
    # OverflowError too: a date at the edge of datetime's range ("0001-01-01T00:00+01:00")
    # cannot move to UTC, and one odd date must not cost the whole feed.
    try:
        moment = to_utc(moment)
    except (OverflowError, ValueError):
        return None
    return moment if _plausible(moment) else None


def _parse_iso(value: str) -> datetime | None:
    if value.isdigit():  # epoch seconds or milliseconds
        number = int(value[:13])
        seconds = number / 1000 if len(value) >= 13 else number
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return moment if _plausible(moment) else None
    try:
        moment = dateutil_parser.isoparse(value)
    except (ValueError, OverflowError):
        try:
            moment = dateutil_parser.parse(value, tzinfos=_zone)
        except (ValueError, OverflowError, TypeError):
            return None
    return _in_range(moment)


def find_date(text: str) -> datetime | None:
    """The first dateline in free text (Indonesian or English forms), in UTC."""
    for pattern in (_NUMERIC, _DAY_MONTH, _MONTH_DAY):
        for match in pattern.finditer(text):
            moment = _from_match(match)
            if moment is not None:
                return moment
    return None


def _from_match(match: re.Match[str]) -> datetime | None:
    parts = match.groupdict()
    month_text = parts["month"].lower()
    month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text.rstrip("."))
    hour = int(parts["hour"] or 0)
    if parts.get("ampm"):
        is_pm = parts["ampm"].lower().startswith("p")
        hour = hour % 12 + (12 if is_pm else 0)
    try:
        local = datetime(
            int(parts["year"]), month or 0, int(parts["day"]), hour,
            int(parts["minute"] or 0), int(parts["second"] or 0),
        )
    except (ValueError, TypeError):
        return None
    zone = (parts.get("zone") or "").upper()
    moment = to_utc(local, ZONES.get(zone, 0))
    return moment if _plausible(moment) else None
