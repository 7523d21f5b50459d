"""Plain records handed out by the library, so callers never hold live ORM objects."""

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


@dataclass(frozen=True, slots=True)
class AddResult:
    article: Article
    created: bool


@dataclass(slots=True)
class ImportReport:
    added: list[Article] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
