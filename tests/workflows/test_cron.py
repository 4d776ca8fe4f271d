"""Cron occurrences in a time zone, across both daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from workflows.cron import cron_next

BERLIN = ZoneInfo("Europe/Berlin")


def occurrences(expression: str, zone: str, start: datetime, count: int) -> list[str]:
    found, moment = [], start
    for _ in range(count):
        moment = cron_next(expression, zone, moment)
        found.append(moment.astimezone(ZoneInfo(zone)).isoformat())
    return found


def test_a_time_skipped_by_spring_forward_fires_once_just_after():
    # given 02:30 daily in Berlin, where 2026-03-29 jumps from 02:00 to 03:00
    start = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    # then that day fires once, at 03:00 local, and the next day at 02:30 again
    assert occurrences("30 2 * * *", "Europe/Berlin", start, 3) == [
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00",
    ]


def test_a_time_repeated_by_fall_back_fires_once():
    # given 02:30 daily in Berlin, where 2026-10-25 repeats 02:00-03:00
    start = datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN)
    # then that day fires once (the first 02:30, summer time), not twice
    assert occurrences("30 2 * * *", "Europe/Berlin", start, 3) == [
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00",
    ]


def test_results_are_utc_and_strictly_after():
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    following = cron_next("0 9 * * *", "UTC", start)
    assert following == datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    assert following.tzinfo == UTC


def test_macros():
    start = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    assert cron_next("@hourly", "UTC", start) == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert cron_next("@daily", "UTC", start) == datetime(2026, 1, 2, 0, 0, tzinfo=UTC)
