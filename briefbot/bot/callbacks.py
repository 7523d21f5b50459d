"""Callback data for inline buttons: short, versioned strings, parsed strictly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    PREV = "p"
    NEXT = "n"
    SUMMARY = "s"  # the summary at the chat's length
    LONG = "l"  # the long summary
    OPEN = "o"  # a new card, from a list or a digest
    DELETE = "d"  # admin confirmed a deletion
    KEEP = "k"  # admin cancelled a deletion
    PAGE = "g"  # /articles page number (the number is a page, not an article)
    FOUND = "f"  # a page of the chat's last /search results (the number is a page)
    RELATED = "r"  # the articles nearest in meaning to this one


ADMIN_ACTIONS = frozenset({Action.DELETE, Action.KEEP, Action.PAGE})
_PATTERN = re.compile(r"^a1:([pnslodkgfr]):(\d{1,12})$")
CALLBACK_PATTERN = r"^a1:"


@dataclass(frozen=True, slots=True)
class ButtonPress:
    action: Action
    number: int  # an article id, or a page for PAGE


def encode(action: Action, number: int) -> str:
    return f"a1:{action.value}:{number}"


def decode(data: str | None) -> ButtonPress | None:
    """None for anything this version did not produce (old, foreign or tampered data)."""
    match = _PATTERN.match(data or "")
    if not match:
        return None
    return ButtonPress(Action(match.group(1)), int(match.group(2)))
