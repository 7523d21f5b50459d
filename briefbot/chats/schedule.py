"""When a chat's digest is due: wall-clock times in the chat's own IANA zone (zoneinfo)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from briefbot.chats.records import ChatState


class Days(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    at: time
    zone: ZoneInfo
    days: Days = Days.DAILY

    def runs_on(self, day: date) -> bool:
        return self.days is Days.DAILY or day.weekday() < 5

    def instant(self, day: date) -> datetime:
        """The UTC instant of the send on a local date.

        A time that does not exist that day (skipped by a DST change) resolves with the
        offset in force before the change, so it is sent once, shortly after the jump; a time
        that occurs twice (clocks going back) is sent at its first occurrence.
        """
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def last_due(self, now: datetime) -> tuple[date, datetime] | None:
        """Today's (local) date and send instant if today's send time has passed."""
        today = now.astimezone(self.zone).date()
        instant = self.instant(today)
        if instant <= now and self.runs_on(today):
            return today, instant
        return None

    def next_send(self, now: datetime) -> datetime:
        today = now.astimezone(self.zone).date()
        for offset in range(8):
            day = today + timedelta(days=offset)
            instant = self.instant(day)
            if instant > now and self.runs_on(day):
                return instant
        raise RuntimeError("a weekly schedule always has a next send")  # pragma: no cover


def schedule_for(chat: ChatState, default_time: time, default_zone: str) -> DigestSchedule:
    at = default_time
    if chat.digest_time:
        hours, minutes = chat.digest_time.split(":")
        at = time(int(hours), int(minutes))
    days = Days.WEEKDAYS if chat.digest_days == Days.WEEKDAYS else Days.DAILY
    return DigestSchedule(at, ZoneInfo(chat.timezone or default_zone), days)
