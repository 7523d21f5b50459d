"""Plain records handed out by the store, so callers never hold live ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    title: str
    text: str
    url: str | None
    content_hash: str
    added_by: int | None
    added_at: datetime
    origin: str
    author: str | None = None
    published: str | None = None

    @property
    def word_count(self) -> int:
        return len(self.text.split())


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


@dataclass(frozen=True, slots=True)
class StoreStats:
    articles: int
    chats: int
    subscribers: int
    summaries: int
    summaries_failed: int = 0
    instances: int = 0


@dataclass(frozen=True, slots=True)
class AddResult:
    article: Article
    created: bool


@dataclass(slots=True)
class ImportReport:
    added: list[Article] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
