"""Tables of the chats' state. The Alembic migrations in briefbot/migrations match these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from briefbot.database import Base, UtcDateTime, utcnow


class ChatRow(Base):
    __tablename__ = "chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(256))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    current_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL")
    )
    timezone: Mapped[str | None] = mapped_column(String(64))
    digest_time: Mapped[str | None] = mapped_column(String(5))
    digest_days: Mapped[str] = mapped_column(String(8), default="daily")
    # The forum topic the digest goes to (where /subscribe was sent); None: the main chat.
    digest_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    summary_length: Mapped[str] = mapped_column(String(16), default="standard")
    language: Mapped[str | None] = mapped_column(String(16))
    user_language: Mapped[str | None] = mapped_column(String(16))
    # /next and /prev move among the articles the chat's topics let through.
    follow_topics: Mapped[bool] = mapped_column(Boolean, default=False)
    # The chat's last /search, for its result pages' buttons.
    last_search: Mapped[str | None] = mapped_column(String(256))
    # Digests are due only for scheduled times after this instant (subscription or change).
    schedule_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Highest article id already offered to this chat in a digest.
    digest_watermark: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ChatTopicRow(Base):
    """Words a chat follows (its digests hold only articles they match) or mutes."""

    __tablename__ = "chat_topics"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chats.chat_id", ondelete="CASCADE"), index=True
    )
    words: Mapped[str] = mapped_column(String(128))
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The words' meaning (briefbot.articles.meaning), float16; None: matched by words only.
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AdminRow(Base):
    """A bot admin added with `briefbot admins add` (besides BRIEFBOT_ADMINS)."""

    __tablename__ = "admins"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DigestDeliveryRow(Base):
    """One digest for one chat on one local date: the claim that prevents a second send."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("chat_id", "digest_date", name="uq_delivery_chat_date"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    digest_date: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str | None] = mapped_column(String(512))
    article_ids: Mapped[str] = mapped_column(Text, default="[]")
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    # A part is on its way to Telegram and its answer not recorded: never send it again.
    in_flight: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The instance sending it; another instance resumes it if that one stops beating.
    owner: Mapped[str | None] = mapped_column(String(64))


class DigestRunRow(Base):
    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
