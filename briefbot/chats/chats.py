"""Each chat's state (its place in the library, summary length, subscription and schedule),
and the bot's admins added at run time.

Each method is one short transaction, or joins the caller's (`session=`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, column, delete, func, insert, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from briefbot.articles import Library
from briefbot.chats.records import ChatRef, ChatState, ChatTopic
from briefbot.chats.schema import AdminRow, ChatRow, ChatTopicRow, DigestDeliveryRow
from briefbot.database import Database, record, table_of, utcnow

logger = logging.getLogger(__name__)

_ARTICLE_IDS = table("articles", column("id"))
_CHATS = table_of(ChatRow)


# Settings a chat keeps when its group becomes a supergroup (a new chat id).
_CARRIED = (
    "subscribed",
    "current_article_id",
    "timezone",
    "digest_time",
    "digest_days",
    "digest_thread_id",
    "summary_length",
    "schedule_changed_at",
    "digest_watermark",
    "language",
    "follow_topics",
)
MAX_TOPICS = 20
MAX_TOPIC_CHARS = 100


class Chats:
    def __init__(self, db: Database, library: Library) -> None:
        self.db = db
        self.library = library

    def touch(self, ref: ChatRef, session: Session | None = None) -> ChatState:
        """The chat's state, created on first contact."""
        title = (ref.title or "")[:256] or None
        user_language = (ref.user_language or "")[:16] or None
        try:
            with self.db.transaction(session) as s:
                for found in self.db.fetch(s, _CHAT, chat=ref.chat_id):
                    changes = {}
                    if title and found["title"] != title:
                        changes["title"] = title
                    if user_language and found["user_language"] != user_language:
                        changes["user_language"] = user_language
                    if changes:
                        s.execute(
                            update(_CHATS).where(_CHATS.c.chat_id == ref.chat_id).values(changes)
                        )
                    return record(ChatState, found | changes)
                s.execute(
                    insert(_CHATS).values(
                        chat_id=ref.chat_id,
                        kind=ref.kind,
                        title=title,
                        subscribed=False,
                        user_language=user_language,
                    )
                )
                return record(ChatState, self.db.fetch(s, _CHAT, chat=ref.chat_id)[0])
        except IntegrityError:
            if session is not None:
                raise
            # Created concurrently by another update of the same chat.
            state = self.get(ref.chat_id)
            if state is None:
                raise
            return state

    def set_language(self, chat_id: int, language: str | None) -> ChatState | None:
        """Speak `language` in the chat (None: the user's own, or English in groups)."""
        with self.db.transaction() as session:
            row = session.get(ChatRow, chat_id)
            if row is None:
                return None
            row.language = language
            session.flush()
            return record(ChatState, row)

    # -- topics -----------------------------------------------------------------------------

    def topics(self, chat_id: int, session: Session | None = None) -> list[ChatTopic]:
        """The chat's topics, followed and muted, in the order added (/topics numbers them)."""
        return self.topics_of([chat_id], session).get(chat_id, [])

    def topics_of(
        self, chat_ids: Iterable[int], session: Session | None = None
    ) -> dict[int, list[ChatTopic]]:
        wanted = list(chat_ids)
        found: dict[int, list[ChatTopic]] = {}
        if not wanted:
            return found
        with self.db.transaction(session) as s:
            rows = s.scalars(
                select(ChatTopicRow)
                .where(ChatTopicRow.chat_id.in_(wanted))
                .order_by(ChatTopicRow.id)
            )
            for row in rows:
                found.setdefault(row.chat_id, []).append(record(ChatTopic, row))
        return found

    def add_topic(
        self, ref: ChatRef, words: str, *, muted: bool, vector: bytes | None
    ) -> ChatTopic | None:
        """Add a topic (the same words again change whether they are muted); None when the
        chat has MAX_TOPICS already."""
        words = words[:MAX_TOPIC_CHARS]
        with self.db.transaction() as session:
            self.touch(ref, session)
            rows = list(
                session.scalars(select(ChatTopicRow).where(ChatTopicRow.chat_id == ref.chat_id))
            )
            same = next((r for r in rows if r.words.casefold() == words.casefold()), None)
            if same is None:
                if len(rows) >= MAX_TOPICS:
                    return None
                same = ChatTopicRow(chat_id=ref.chat_id, words=words)
                session.add(same)
            same.muted, same.vector = muted, vector
            session.flush()
            return record(ChatTopic, same)

    def remove_topic(self, chat_id: int, topic_id: int) -> ChatTopic | None:
        with self.db.transaction() as session:
            row = session.get(ChatTopicRow, topic_id)
            if row is None or row.chat_id != chat_id:
                return None
            session.delete(row)
            return record(ChatTopic, row)

    def set_follow_topics(self, ref: ChatRef, follow: bool) -> None:
        with self.db.transaction() as session:
            self.touch(ref, session)
            session.execute(
                update(ChatRow).where(ChatRow.chat_id == ref.chat_id).values(follow_topics=follow)
            )

    def set_last_search(self, chat_id: int, query: str) -> None:
        with self.db.transaction() as session:
            row = session.get(ChatRow, chat_id)
            if row is not None:
                row.last_search = query[:256]

    def languages(self, chat_ids: Iterable[int], session: Session | None = None) -> dict[int, str]:
        """The language each of these chats chose with /language (chats that chose none are
        left out)."""
        chosen: dict[int, str] = {}
        with self.db.transaction(session) as s:
            for chat_id in chat_ids:  # a batch's chats, usually one
                for found in self.db.fetch(s, _LANGUAGE, chat=chat_id):
                    if found["language"]:
                        chosen[chat_id] = found["language"]
        return chosen

    def get(self, chat_id: int) -> ChatState | None:
        with self.db.transaction() as session:
            row = session.get(ChatRow, chat_id)
            return record(ChatState, row) if row else None

    def set_current(self, chat_id: int, article_id: int, session: Session | None = None) -> None:
        with self.db.transaction(session) as s:
            self.db.apply(s, _SET_CURRENT, chat=chat_id, article=article_id, now=utcnow())

    def set_length(self, chat_id: int, length: str) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(ChatRow).where(ChatRow.chat_id == chat_id).values(summary_length=length)
            )

    def set_subscribed(
        self,
        chat_id: int,
        subscribed: bool,
        *,
        thread_id: int | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Turn the digest on (to the forum topic `thread_id`, if any) or off; returns
        whether the subscription changed."""
        with self.db.transaction() as session:
            row = session.get(ChatRow, chat_id)
            if row is None:
                return False
            changed = row.subscribed != subscribed
            if subscribed:
                row.digest_thread_id = thread_id
                if changed:
                    self._start_schedule(session, row, now or utcnow())
            row.subscribed = subscribed
            return changed

    def _start_schedule(self, session: Session, row: ChatRow, now: datetime) -> None:
        # A new subscriber's first digest holds what arrives from now on, and no digest is
        # due for a time that passed before the subscription.
        row.subscribed = True
        row.schedule_changed_at = now
        row.digest_watermark = self.library.newest_id(session)

    def set_schedule(
        self,
        chat_id: int,
        *,
        digest_time: str | None = None,
        timezone: str | None = None,
        days: str | None = None,
        thread_id: int | None = None,
        now: datetime | None = None,
    ) -> ChatState | None:
        """Change the given schedule fields and subscribe the chat if it was not."""
        now = now or utcnow()
        with self.db.transaction() as session:
            row = session.get(ChatRow, chat_id)
            if row is None:
                return None
            if digest_time is not None:
                row.digest_time = digest_time
            if timezone is not None:
                row.timezone = timezone
            if days is not None:
                row.digest_days = days
            row.digest_thread_id = thread_id
            if row.subscribed:
                row.schedule_changed_at = now
            else:
                self._start_schedule(session, row, now)
            session.flush()
            return record(ChatState, row)

    def forget_digest_topic(self, chat_id: int) -> None:
        """The forum topic the digest went to is gone: send to the main chat from now on."""
        with self.db.transaction() as session:
            session.execute(
                update(ChatRow).where(ChatRow.chat_id == chat_id).values(digest_thread_id=None)
            )

    def digest_targets(self, chat_ids: list[int]) -> dict[int, tuple[int | None, str | None]]:
        """Where each chat's digest goes and in what language: (forum topic, None for the main
        chat; language code, None for English)."""
        with self.db.transaction() as session:
            rows = session.scalars(select(ChatRow).where(ChatRow.chat_id.in_(chat_ids)))
            return {
                row.chat_id: (row.digest_thread_id, record(ChatState, row).locale) for row in rows
            }

    def subscribed(self) -> list[ChatState]:
        with self.db.transaction() as session:
            rows = session.scalars(select(ChatRow).where(ChatRow.subscribed.is_(True)))
            return [record(ChatState, row) for row in rows]

    def migrate(self, old_id: int, new_id: int) -> bool:
        """A group became a supergroup with a new id: the chat keeps its subscription, place
        and settings under the new id. Returns whether there was anything to move (both
        service messages, the old group's and the new one's, may bring the news at once)."""
        try:
            return self._migrate(old_id, new_id)
        except IntegrityError:
            return False  # moved by the other one meanwhile

    def _migrate(self, old_id: int, new_id: int) -> bool:
        with self.db.transaction() as session:
            old = session.get(ChatRow, old_id)
            if old is None or old_id == new_id:
                return False
            new = session.get(ChatRow, new_id)
            if new is None:
                new = ChatRow(chat_id=new_id, kind="supergroup", title=old.title)
                session.add(new)
            for name in _CARRIED:
                setattr(new, name, getattr(old, name))
            new.kind = "supergroup"
            session.flush()
            session.execute(
                update(ChatTopicRow).where(ChatTopicRow.chat_id == old_id).values(chat_id=new_id)
            )
            session.delete(old)
            taken = select(DigestDeliveryRow.digest_date).where(
                DigestDeliveryRow.chat_id == new_id
            )
            # Today's digest record moves too, so a digest sent to the old id is not repeated.
            session.execute(
                update(DigestDeliveryRow)
                .where(
                    DigestDeliveryRow.chat_id == old_id,
                    DigestDeliveryRow.digest_date.not_in(taken),
                )
                .values(chat_id=new_id)
            )
        logger.info("Chat %s became supergroup %s; its settings moved with it", old_id, new_id)
        return True

    def counts(self) -> tuple[int, int]:
        """How many chats, and how many of them are subscribed."""
        with self.db.transaction() as session:
            chats = session.scalar(select(func.count()).select_from(ChatRow)) or 0
            subscribed = session.scalar(select(func.count()).where(ChatRow.subscribed.is_(True)))
            return chats, subscribed or 0


class Admins:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> set[int]:
        with self.db.transaction() as session:
            return set(session.scalars(select(AdminRow.user_id)))

    def add(self, user_id: int) -> bool:
        """Returns whether the user was not an admin yet."""
        try:
            with self.db.transaction() as session:
                session.add(AdminRow(user_id=user_id))
        except IntegrityError:
            return False
        return True

    def remove(self, user_id: int) -> bool:
        with self.db.transaction() as session:
            statement = delete(AdminRow).where(AdminRow.user_id == user_id)
            return bool(self.db.changed(session, statement))


# Statements every update runs (see database.Prepared).
_CHAT = select(_CHATS).where(_CHATS.c.chat_id == bindparam("chat"))
_LANGUAGE = select(_CHATS.c.language).where(_CHATS.c.chat_id == bindparam("chat"))
# The chat's new place: the article, or NULL when an admin deleted it after the update read
# it (the chat loses its place, as a deletion does to every chat reading it). On PostgreSQL
# the row is locked against deletion until the transaction ends (FOR KEY SHARE; SQLite's
# writers take turns): a deletion committed between the subquery's snapshot and the
# reference check would otherwise fail the update.
_SET_CURRENT = (
    update(_CHATS)
    .where(_CHATS.c.chat_id == bindparam("chat"))
    .values(
        current_article_id=select(_ARTICLE_IDS.c.id)
        .where(_ARTICLE_IDS.c.id == bindparam("article"))
        .with_for_update(read=True, key_share=True)
        .scalar_subquery(),
        updated_at=bindparam("now"),
    )
)
