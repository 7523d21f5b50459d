"""Tables of the work instances share. The Alembic migrations in briefbot/migrations match."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from briefbot.database import Base, UtcDateTime, utcnow


class InstanceRow(Base):
    """A running Briefbot process; claims held by one whose heartbeat stopped are free."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # polling, webhook, worker, console
    host: Mapped[str] = mapped_column(String(256))
    pid: Mapped[int] = mapped_column(Integer)
    # The summarizer it serves (workers advertise it to instances that run no model).
    model: Mapped[str | None] = mapped_column(String(256))
    # Whether that summarizer writes summaries in the reader's language (instruct LLMs).
    writes_any_language: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class UpdateRow(Base):
    """An incoming Telegram update, stored before it is acknowledged and marked when handled."""

    __tablename__ = "updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), index=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class SummaryJobRow(Base):
    """A summary being computed (claimed by an instance), asked for, or failed with a reason."""

    __tablename__ = "summary_jobs"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(256), primary_key=True)
    length: Mapped[str] = mapped_column(String(16), primary_key=True)
    article_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), index=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Computed alone, not in a batch: an interruption then counts against this summary.
    solo: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(512))
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
