from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.parser.dates import find_date, parse_date

NOV21_13 = datetime(2020, 11, 21, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2020-11-21T20:00:00+07:00", NOV21_13),
        ("2020-11-21T13:00:00Z", NOV21_13),
        ("21/11/2020, 20:00 WIB", NOV21_13),
        ("Kompas.com - 21/11/2020, 20:00 WIB", NOV21_13),
        ("Sabtu, 21 November 2020 20:00 WIB", NOV21_13),
        ("Sabtu, 21 Nov 2020 21:00 WITA", NOV21_13),
        ("21 Nopember 2020 22:00 WIT", NOV21_13),
        ("Nov 21, 2020", datetime(2020, 11, 21, tzinfo=UTC)),
        ("November 21, 2020 8:00 AM EST", NOV21_13),
        ("Jumat, 19 Juni 2015 | 13:05 WIB", datetime(2015, 6, 19, 6, 5, tzinfo=UTC)),
        ("1605963600", NOV21_13),
        # The forms feeds and sitemaps carry go through the same parser.
        ("Sat, 21 Nov 2020 20:00:00 +0700", NOV21_13),
        ("Sat, 21 Nov 2020 13:00:00 GMT", NOV21_13),
        ("Sat, 21 Nov 2020 13:00:00 -0000", NOV21_13),
        ("2020-11-21T13:00:00.000+00:00", NOV21_13),
    ],
)
def test_dates_to_utc(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", None, 42, "not a date", "99/99/2020", "31/02/2020 10:00 WIB",
     "0001-01-01T00:00+01:00", "Thu, 01 Jan 1970 00:00:00 GMT"],
)
def test_non_dates(value):
    assert parse_date(value) is None


def test_dateline_inside_prose():
    assert find_date("Dilaporkan AFP Sabtu (21/11/2020) pukul 20:00 WIB dari Yerevan.") == NOV21_13
