"""Callback data for inline buttons: short, versioned strings, parsed strictly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    PREV = "p"
    NEXT = "n"
    SUMMARY = "s"
    OPEN = "o"
    DELETE = "d"  # admin confirmed a deletion
    KEEP = "k"  # admin cancelled a deletion
    PAGE = "g"  # /articles page number (the number is a page, not an article)


_PATTERN = re.compile(r"^a1:([pnsodkg]):(\d{1,12})$")


@dataclass(frozen=True, slots=True)
class ButtonPress:
    action: Action
    article_id: int


def encode(action: Action, article_id: int) -> str:
    return f"a1:{action.value}:{article_id}"


def decode(data: str | None) -> ButtonPress | None:
    """None for anything this version did not produce (old, foreign or tampered data)."""
    match = _PATTERN.match(data or "")
    if not match:
        return None
    return ButtonPress(Action(match.group(1)), int(match.group(2)))


CALLBACK_PATTERN = r"^a1:"
