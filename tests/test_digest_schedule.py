"""Digest times in each chat's zone, across daylight-saving changes (a simulated clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from briefbot.bot import views
from briefbot.chats import Days, DigestSchedule

MINUTE = timedelta(minutes=1)


def simulate(schedule: DigestSchedule, start: datetime, days: int) -> list[tuple[date, datetime]]:
    """Step a clock minute by minute; return (local date, moment first seen due)."""
    fired: dict[date, datetime] = {}
    now = start
    while now < start + timedelta(days=days):
        due = schedule.last_due(now)
        if due is not None and due[0] not in fired and due[1] >= start:
            fired[due[0]] = now
        now += MINUTE
    return sorted(fired.items())


@pytest.mark.parametrize(
    ("zone", "at", "start", "changed_day", "changed_utc"),
    [
        # Spring forward: 02:30 does not exist in Berlin on 29 March; sent at 03:30 CEST.
        (
            "Europe/Berlin",
            time(2, 30),
            date(2026, 3, 27),
            date(2026, 3, 29),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),
        # Fall back: 02:30 happens twice on 25 October; sent once, at the first.
        (
            "Europe/Berlin",
            time(2, 30),
            date(2026, 10, 23),
            date(2026, 10, 25),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        # A morning time on the US change day keeps its wall-clock time.
        (
            "America/New_York",
            time(7, 30),
            date(2026, 3, 6),
            date(2026, 3, 8),
            datetime(2026, 3, 8, 11, 30, tzinfo=UTC),
        ),
        # Lord Howe Island moves its clocks by half an hour.
        (
            "Australia/Lord_Howe",
            time(1, 45),
            date(2026, 10, 2),
            date(2026, 10, 4),
            datetime(2026, 10, 3, 15, 15, tzinfo=UTC),
        ),
    ],
)
def test_one_send_per_local_day_across_dst(zone, at, start, changed_day, changed_utc):
    schedule = DigestSchedule(at, ZoneInfo(zone))
    begin = datetime.combine(start, time(0), tzinfo=UTC)
    fired = simulate(schedule, begin, days=5)
    days = [day for day, _ in fired]
    assert days == sorted(set(days))  # never twice for one local date
    assert len(days) >= 4
    for day, moment in fired:
        instant = schedule.instant(day)
        assert timedelta(0) <= moment - instant < MINUTE
        local = instant.astimezone(ZoneInfo(zone))
        if day != changed_day:
            assert (local.date(), local.time()) == (day, at)
    assert dict(fired)[changed_day] == changed_utc


def test_weekdays_only():
    schedule = DigestSchedule(time(8, 0), ZoneInfo("Asia/Tokyo"), Days.WEEKDAYS)
    fired = simulate(schedule, datetime(2026, 11, 26, tzinfo=UTC), days=7)  # Thu..Wed
    assert [day.weekday() for day, _ in fired] == [4, 0, 1, 2, 3]


def test_next_send_skips_the_weekend():
    schedule = DigestSchedule(time(8, 0), ZoneInfo("Europe/London"), Days.WEEKDAYS)
    friday_noon = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert schedule.next_send(friday_noon) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert views.schedule_text(schedule) == "08:00 Europe/London, on weekdays"
