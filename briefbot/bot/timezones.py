"""Reading time zones and times typed by people."""

from __future__ import annotations

from datetime import time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from briefbot.config import parse_hhmm


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def find_zone(text: str) -> str | None:
    """The canonical IANA name for `text` (any letter case), or None."""
    name = _zones_by_lower_name().get(text.strip().lower())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def read_time(text: str) -> time | None:
    try:
        return parse_hhmm(text)
    except ValueError:
        return None
