"""Plain records of chats and their digests, so callers never hold live ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from briefbot.articles.meaning import Topic


@dataclass(frozen=True, slots=True)
class ChatRef:
    """What an update tells about its chat."""

    chat_id: int
    kind: str
    title: str | None = None
    user_language: str | None = None  # a private chat's user's Telegram language_code


@dataclass(frozen=True, slots=True)
class ChatState:
    chat_id: int
    kind: str
    subscribed: bool
    current_article_id: int | None
    timezone: str | None
    digest_time: str | None
    digest_days: str = "daily"
    schedule_changed_at: datetime | None = None
    digest_watermark: int = 0
    title: str | None = None
    summary_length: str = "standard"
    digest_thread_id: int | None = None
    language: str | None = None  # chosen with /language; None: the user's (private) or English
    user_language: str | None = None
    last_search: str | None = None
    follow_topics: bool = False

    @property
    def locale(self) -> str | None:
        """The language code the chat is spoken to in (None: English)."""
        if self.language:
            return self.language
        return self.user_language if self.kind == "private" else None


@dataclass(frozen=True, slots=True)
class ChatTopic:
    id: int
    words: str
    muted: bool
    vector: bytes | None  # see briefbot.articles.meaning


def followed_and_muted(topics: Sequence[ChatTopic]) -> tuple[list[Topic], list[Topic]]:
    """A chat's topics as `Meanings.keep` takes them: those it follows, those it mutes."""
    follow = [Topic.stored(t.words, t.vector) for t in topics if not t.muted]
    mute = [Topic.stored(t.words, t.vector) for t in topics if t.muted]
    return follow, mute


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    chat_id: int
    digest_date: str
    state: str
    reason: str | None
    article_ids: tuple[int, ...]
    parts_total: int
    parts_sent: int
    in_flight: bool
    attempts: int
    owner: str | None = None  # the instance that holds it


@dataclass(frozen=True, slots=True)
class DigestRun:
    started_at: datetime
    finished_at: datetime
    sent: int
    skipped: int
    failed: int

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
