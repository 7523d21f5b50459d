"""The article store: articles, per-chat reading state and the summary cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from briefbot.articles.database import create_database_engine, upgrade_schema
from briefbot.articles.deliveries import DeliveryStore
from briefbot.articles.errors import StoreError, store_error
from briefbot.articles.inbox import UpdateInbox
from briefbot.articles.instances import InstanceRegistry
from briefbot.articles.records import AddResult, Article, ChatState, StoreStats
from briefbot.articles.schema import ArticleRow, ChatRow, SummaryJobRow, SummaryRow, utcnow
from briefbot.articles.summary_jobs import SummaryJobs
from briefbot.articles.text import (
    ArticleRejected,
    TextLimits,
    clean_title,
    clean_url,
    content_hash,
    validate_article,
)

logger = logging.getLogger(__name__)

Direction = Literal["next", "prev"]
# Row ids are 32-bit integers in the schema; PostgreSQL refuses a larger number outright.
MAX_ROW_ID = 2**31 - 1


def valid_row_id(value: int) -> bool:
    """Whether `value` can be a row id at all (ids from commands and buttons are untrusted)."""
    return 0 < value <= MAX_ROW_ID


SUPPORTED_DATABASES = ("sqlite", "postgresql")


def _article(row: ArticleRow) -> Article:
    return Article(
        id=row.id,
        title=row.title,
        text=row.text,
        url=row.url,
        content_hash=row.content_hash,
        added_by=row.added_by,
        added_at=row.added_at,
        origin=row.origin,
        author=row.author,
        published=row.published,
    )


def _chat(row: ChatRow) -> ChatState:
    return ChatState(
        chat_id=row.chat_id,
        kind=row.kind,
        subscribed=row.subscribed,
        current_article_id=row.current_article_id,
        timezone=row.timezone,
        digest_time=row.digest_time,
        digest_days=row.digest_days or "daily",
        schedule_changed_at=row.schedule_changed_at,
        digest_watermark=row.digest_watermark or 0,
        title=row.title,
        summary_length=row.summary_length or "standard",
    )


class ArticleStore:
    """All reads and writes go through here; every method is one short transaction."""

    def __init__(self, engine: Engine, limits: TextLimits | None = None) -> None:
        self.engine = engine
        self.limits = limits or TextLimits()
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.deliveries = DeliveryStore(self)
        self.instances = InstanceRegistry(self)
        self.inbox = UpdateInbox(self, self.instances)
        self.summary_jobs = SummaryJobs(self, self.instances)

    @classmethod
    def open(cls, url: str, limits: TextLimits | None = None) -> ArticleStore:
        """Connect and migrate the schema to the newest version."""
        backend = url.split(":", 1)[0].split("+", 1)[0]
        if backend not in SUPPORTED_DATABASES:
            raise StoreError(
                f"unsupported database {backend!r}: Briefbot runs on SQLite or PostgreSQL"
            )
        try:
            engine = create_database_engine(url)
        except (ImportError, NoSuchModuleError) as exc:
            backend = url.split(":", 1)[0]
            raise StoreError(
                f"no database driver for {backend!r} is installed ({exc}); "
                "for PostgreSQL: pip install 'psycopg[binary]'"
            ) from None
        try:
            upgrade_schema(engine)
        except OperationalError as exc:
            raise StoreError(f"cannot open the database at {engine.url!r}: {exc.orig}") from exc
        return cls(engine, limits)

    def close(self) -> None:
        self.deliveries.close()
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; for the store's companions (see deliveries.py)."""
        with self._session() as session:
            yield session

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise store_error(exc) from exc

    # -- articles -------------------------------------------------------------------------

    def add_article(
        self,
        title: str,
        text: str,
        *,
        url: str | None = None,
        added_by: int | None = None,
        origin: str = "telegram",
        author: str | None = None,
        published: str | None = None,
    ) -> AddResult:
        """Store an article unless the same body is already stored; raises ArticleRejected."""
        title, text = validate_article(title, text, self.limits)
        digest = content_hash(text)
        try:
            with self._session() as session:
                existing = session.scalar(
                    select(ArticleRow).where(ArticleRow.content_hash == digest)
                )
                if existing is not None:
                    return AddResult(_article(existing), created=False)
                row = ArticleRow(
                    title=title,
                    text=text,
                    url=clean_url(url),
                    content_hash=digest,
                    added_by=added_by,
                    origin=origin,
                    author=(author or "")[:256] or None,
                    published=(published or "")[:32] or None,
                )
                session.add(row)
                session.flush()
                return AddResult(_article(row), created=True)
        except IntegrityError:
            # Another writer stored the same body between our check and our insert.
            stored = self.find_by_hash(digest)
            if stored is None:
                raise
            return AddResult(stored, created=False)

    def find_by_hash(self, digest: str) -> Article | None:
        with self._session() as session:
            row = session.scalar(select(ArticleRow).where(ArticleRow.content_hash == digest))
            return _article(row) if row else None

    def get(self, article_id: int) -> Article | None:
        if not valid_row_id(article_id):
            return None
        with self._session() as session:
            row = session.get(ArticleRow, article_id)
            return _article(row) if row else None

    def count(self) -> int:
        with self._session() as session:
            return session.scalar(select(func.count(ArticleRow.id))) or 0

    def latest(self, limit: int = 10) -> list[Article]:
        with self._session() as session:
            rows = session.scalars(select(ArticleRow).order_by(ArticleRow.id.desc()).limit(limit))
            return [_article(row) for row in rows]

    def page(self, number: int, size: int = 10) -> list[Article]:
        """Page `number` (from 0) of the library, newest first."""
        number = max(0, min(number, MAX_ROW_ID))
        with self._session() as session:
            rows = session.scalars(
                select(ArticleRow).order_by(ArticleRow.id.desc()).offset(number * size).limit(size)
            )
            return [_article(row) for row in rows]

    def delete_article(self, article_id: int) -> Article | None:
        """Delete an article and its cached summaries; chats reading it lose their place."""
        if not valid_row_id(article_id):
            return None
        with self._session() as session:
            row = session.get(ArticleRow, article_id)
            if row is None:
                return None
            article = _article(row)
            session.delete(row)
            session.execute(
                SummaryRow.__table__.delete().where(SummaryRow.content_hash == row.content_hash)
            )
            return article

    def set_title(self, article_id: int, title: str) -> Article | None:
        clean = clean_title(title, self.limits)
        if not clean:
            raise ArticleRejected("the new title is empty")
        if not valid_row_id(article_id):
            return None
        with self._session() as session:
            row = session.get(ArticleRow, article_id)
            if row is None:
                return None
            row.title = clean
            return _article(row)

    def neighbour(self, article_id: int, direction: Direction) -> Article | None:
        """The next newer ("next") or next older ("prev") article, or None at either end."""
        article_id = max(0, min(article_id, MAX_ROW_ID))
        query = select(ArticleRow)
        if direction == "next":
            query = query.where(ArticleRow.id > article_id).order_by(ArticleRow.id.asc())
        else:
            query = query.where(ArticleRow.id < article_id).order_by(ArticleRow.id.desc())
        with self._session() as session:
            row = session.scalar(query.limit(1))
            return _article(row) if row else None

    # -- chats ----------------------------------------------------------------------------

    def touch_chat(self, chat_id: int, kind: str, title: str | None = None) -> ChatState:
        """Return the chat's state, creating it on first contact."""
        try:
            with self._session() as session:
                row = session.get(ChatRow, chat_id)
                if row is None:
                    row = ChatRow(chat_id=chat_id, kind=kind, title=title, subscribed=False)
                    session.add(row)
                    session.flush()
                elif title and row.title != title:
                    row.title = title
                return _chat(row)
        except IntegrityError:
            # Created concurrently by another update from the same chat.
            state = self.get_chat(chat_id)
            if state is None:
                raise
            return state

    def get_chat(self, chat_id: int) -> ChatState | None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            return _chat(row) if row else None

    def set_current_article(self, chat_id: int, article_id: int) -> None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is not None:
                row.current_article_id = article_id

    def set_summary_length(self, chat_id: int, length: str) -> None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is not None:
                row.summary_length = length

    def set_subscribed(self, chat_id: int, subscribed: bool, now: datetime | None = None) -> bool:
        """Set the digest subscription; returns whether it changed."""
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is None or row.subscribed == subscribed:
                return False
            row.subscribed = subscribed
            if subscribed:
                self._start_schedule(session, row, now or utcnow())
            return True

    @staticmethod
    def _start_schedule(session: Session, row: ChatRow, now: datetime) -> None:
        # A new subscriber's first digest holds what arrives from now on, and no digest is
        # due for a time that passed before the subscription.
        row.schedule_changed_at = now
        row.digest_watermark = session.scalar(select(func.max(ArticleRow.id))) or 0

    def set_digest_schedule(
        self,
        chat_id: int,
        *,
        digest_time: str | None = None,
        timezone: str | None = None,
        days: str | None = None,
        now: datetime | None = None,
    ) -> ChatState | None:
        """Change the given schedule fields and subscribe the chat if it was not."""
        now = now or utcnow()
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is None:
                return None
            if digest_time is not None:
                row.digest_time = digest_time
            if timezone is not None:
                row.timezone = timezone
            if days is not None:
                row.digest_days = days
            if not row.subscribed:
                row.subscribed = True
                self._start_schedule(session, row, now)
            else:
                row.schedule_changed_at = now
            return _chat(row)

    def subscribed_chats(self) -> list[ChatState]:
        with self._session() as session:
            rows = session.scalars(select(ChatRow).where(ChatRow.subscribed.is_(True)))
            return [_chat(row) for row in rows]

    def articles_after(self, article_id: int, limit: int) -> list[Article]:
        """Articles stored after `article_id`, newest first."""
        with self._session() as session:
            rows = session.scalars(
                select(ArticleRow)
                .where(ArticleRow.id > article_id)
                .order_by(ArticleRow.id.desc())
                .limit(limit)
            )
            return [_article(row) for row in rows]

    def get_many(self, article_ids: list[int]) -> list[Article]:
        """The articles that still exist, in the order asked for."""
        article_ids = [i for i in article_ids if valid_row_id(i)]
        with self._session() as session:
            rows = session.scalars(select(ArticleRow).where(ArticleRow.id.in_(article_ids)))
            found = {row.id: _article(row) for row in rows}
        return [found[i] for i in article_ids if i in found]

    def subscriber_count(self) -> int:
        with self._session() as session:
            return session.scalar(select(func.count()).where(ChatRow.subscribed.is_(True))) or 0

    def stats(self) -> StoreStats:
        with self._session() as session:
            return StoreStats(
                articles=session.scalar(select(func.count(ArticleRow.id))) or 0,
                chats=session.scalar(select(func.count(ChatRow.chat_id))) or 0,
                subscribers=session.scalar(
                    select(func.count()).where(ChatRow.subscribed.is_(True))
                )
                or 0,
                summaries=session.scalar(select(func.count()).select_from(SummaryRow)) or 0,
                summaries_failed=session.scalar(
                    select(func.count()).where(SummaryJobRow.state == "failed")
                )
                or 0,
                instances=len(self.instances.live_ids()),
            )

    # -- summary cache --------------------------------------------------------------------

    def cached_summary(self, digest: str, model: str, length: str) -> str | None:
        with self._session() as session:
            row = session.get(SummaryRow, (digest, model, length))
            return row.text if row else None

    def cache_summary(self, digest: str, model: str, length: str, text: str) -> None:
        with self._session() as session:
            row = session.get(SummaryRow, (digest, model, length))
            if row is None:
                session.add(SummaryRow(content_hash=digest, model=model, length=length, text=text))
            else:
                row.text = text
