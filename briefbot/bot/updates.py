"""How updates come in and are run.

Intake: the flood gate, then the inbox, before Telegram is told an update arrived (the next
getUpdates call confirms a polled batch, a 200 answer a webhook post). A user who sends more
than their share is slowed down before anything is queued: extra messages are dropped with one
notice per flood, extra button presses answered at once with a short notice, so no queue grows.
Running: chats side by side, each chat's updates in order, every button press answered in time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Coroutine, Sequence
from enum import Enum
from typing import Any

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseUpdateProcessor, ExtBot

from briefbot.bot import views
from briefbot.bot.ratelimit import Buckets
from briefbot.chats import Chats
from briefbot.coordination import Inbox
from briefbot.coordination.inbox import chat_of
from briefbot.database import StoreError

logger = logging.getLogger(__name__)

FLOOD_BURST = 10
# Telegram lets a button press wait about 15 s for its answer.
LATE_ANSWER_SECONDS = 8.0


class Verdict(Enum):
    ADMIT = "admit"
    DROP = "drop"
    DROP_AND_WARN = "drop and warn"


class FloodGate:
    """Each user may send `per_minute` updates a minute, in bursts of up to FLOOD_BURST."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets = Buckets(FLOOD_BURST, per_minute / 60)
        self._warned: set[int] = set()

    def admit(self, user_id: int, now: float) -> Verdict:
        if self.per_minute <= 0:
            return Verdict.ADMIT
        if self._buckets.get(user_id, now).try_take(now) == 0:
            self._warned.discard(user_id)
            return Verdict.ADMIT
        if user_id in self._warned:
            return Verdict.DROP
        if len(self._warned) > 10_000:
            self._warned.clear()
        self._warned.add(user_id)
        return Verdict.DROP_AND_WARN


def _sender(update: Update) -> int | None:
    user, chat = update.effective_user, update.effective_chat
    return user.id if user else chat.id if chat else None


class Intake:
    """Also reads, in the same transaction as it stores a batch, the language each of its
    chats chose with /language, so that every update is answered in it (`language_of`)
    without one more transaction per update."""

    def __init__(self, inbox: Inbox, chats: Chats, gate: FloodGate, bot: ExtBot[Any]) -> None:
        self.inbox = inbox
        self.chats = chats
        self.gate = gate
        self.bot = bot
        self._skip: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._languages: dict[int, str] = {}
        self._replayed: set[int] = set()

    def language_of(self, chat_id: int) -> str | None:
        """The language the chat chose, as read with its latest batch (None: none chosen)."""
        return self._languages.get(chat_id)

    def chose_language(self, chat_id: int, language: str | None) -> None:
        if language is None:
            self._languages.pop(chat_id, None)
        else:
            self._languages[chat_id] = language

    def take_over(self) -> list[Update]:
        """The stored updates nobody finished (see Inbox.take_over), with their chats'
        languages, in one transaction; each is counted an attempt as it begins (`begin`)."""
        with self.inbox.db.transaction() as session:
            payloads = self.inbox.take_over(session=session)
            chat_ids = {chat for p in payloads if (chat := chat_of(p)) is not None}
            chosen = self.chats.languages(chat_ids, session)
        for chat_id in chat_ids:
            self.chose_language(chat_id, chosen.get(chat_id))
        updates = [u for p in payloads if (u := Update.de_json(p, self.bot)) is not None]
        self._replayed.update(u.update_id for u in updates)
        return updates

    async def begin(self, update: Update) -> None:
        """Called as each update's handling begins: a taken-over one counts an attempt."""
        if update.update_id not in self._replayed:
            return
        self._replayed.discard(update.update_id)
        try:
            await self.inbox.db.run(self.inbox.begin_again, update.update_id)
        except StoreError as exc:
            logger.error("Update %d: its attempt not counted: %s", update.update_id, exc)

    def _record(self, updates: Sequence[Update], dropped: set[int]) -> set[int]:
        chat_ids = {u.effective_chat.id for u in updates if u.effective_chat is not None}
        with self.inbox.db.transaction() as session:
            new = self.inbox.record([u.to_dict() for u in updates], dropped, session)
            chosen = self.chats.languages(chat_ids, session)
        for chat_id in chat_ids:
            self.chose_language(chat_id, chosen.get(chat_id))
        return new

    async def accept(self, updates: Sequence[Update], *, polled: bool = False) -> list[Update]:
        """Store a batch; returns the updates to handle (new and admitted, in order). The
        others of a `polled` batch are skipped when the Updater queues them (`should_skip`)."""
        now = time.monotonic()
        dropped: set[int] = set()
        for update in updates:
            sender = _sender(update)
            verdict = Verdict.ADMIT if sender is None else self.gate.admit(sender, now)
            if verdict is not Verdict.ADMIT:
                dropped.add(update.update_id)
                self._slow_down(update, warn=verdict is Verdict.DROP_AND_WARN)
        if dropped:
            logger.info("Flood gate: dropped %d of %d updates", len(dropped), len(updates))
        try:
            new = await self.inbox.db.run(self._record, updates, dropped)
        except StoreError as exc:
            # Handle them anyway: the handlers meet the same database and tell the chat what
            # is wrong, which beats silence while the disk is full.
            logger.error("%d updates handled without a stored copy: %s", len(updates), exc)
            new = {u.update_id for u in updates} - dropped
        if polled:
            self._skip.update(u.update_id for u in updates if u.update_id not in new)
        return [u for u in updates if u.update_id in new]

    def should_skip(self, update: Update) -> bool:
        """Whether a polled update is one not to handle (dropped, or handled before)."""
        if update.update_id in self._skip:
            self._skip.discard(update.update_id)
            return True
        return False

    def _slow_down(self, update: Update, *, warn: bool) -> None:
        query, chat, message = update.callback_query, update.effective_chat, update.message
        notice: Coroutine[Any, Any, Any] | None = None
        if query is not None:
            notice = self.bot.answer_callback_query(query.id, views.flooded_press())
        elif warn and chat is not None:
            thread = message.message_thread_id if message and message.is_topic_message else None
            notice = self.bot.send_message(chat.id, views.flooded(), message_thread_id=thread)
        if notice is not None:
            task = asyncio.create_task(self._quietly(notice))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(call: Coroutine[Any, Any, Any]) -> None:
        try:
            await call
        except TelegramError as exc:
            logger.info("Flood notice not delivered: %s", exc)


class IntakeBot(ExtBot[Any]):
    """Stores each getUpdates batch through the intake before it is returned (and so before
    the next getUpdates call confirms it to Telegram)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._intake: Intake | None = None

    @property
    def intake(self) -> Intake | None:
        return self._intake

    def take_updates_through(self, intake: Intake) -> None:
        self._intake = intake

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        if updates and self._intake is not None:
            await self._intake.accept(updates, polled=True)
        return updates


class ButtonAnswers:
    """Every button press is answered once and in time: by its handler, or, when the press
    waits too long behind its chat's other updates (or a slow model), by this watch."""

    def __init__(self, bot: ExtBot[Any], after: float = LATE_ANSWER_SECONDS) -> None:
        self.bot = bot
        self.after = after
        self._watched: dict[str, asyncio.TimerHandle] = {}
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()

    def watch(self, query_id: str) -> None:
        loop = asyncio.get_running_loop()
        self._watched[query_id] = loop.call_later(self.after, self._answer_late, query_id)

    def _answer_late(self, query_id: str) -> None:
        logger.info(
            "Button press %s waited %.0f s: answered before it expires", query_id, self.after
        )
        task = asyncio.create_task(self.answer(query_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def answered(self, query_id: str) -> bool:
        return query_id in self._answered

    async def answer(self, query_id: str, text: str | None = None) -> None:
        """Answer a press (with a short notice) unless it was answered already: each press
        is answered once."""
        if query_id in self._answered:
            return
        self._answered[query_id] = None
        while len(self._answered) > 10_000:
            self._answered.popitem(last=False)
        timer = self._watched.pop(query_id, None)
        if timer is not None:
            timer.cancel()
        await self._send(query_id, text)

    async def _send(self, query_id: str, text: str | None) -> None:
        try:
            await self.bot.answer_callback_query(query_id, text[:200] if text else None)
        except BadRequest as exc:  # expired meanwhile: nothing left to answer
            logger.info("Button press %s not answered: %s", query_id, exc)
        except TelegramError as exc:
            logger.warning("Button press %s not answered: %s", query_id, exc)


class ChatOrderProcessor(BaseUpdateProcessor):
    """Different chats are served concurrently; one chat's updates run one after another, so
    two quick taps on "Next ▶" never start from the same article.

    A polled update the intake refused (a flood) or has seen before is skipped here; a
    taken-over one counts an attempt as it begins.
    """

    def __init__(
        self, answers: ButtonAnswers, intake: Intake | None, max_concurrent_updates: int = 256
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.answers = answers
        self.intake = intake
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = None
        if isinstance(update, Update):
            if self.intake is not None and self.intake.should_skip(update):
                getattr(coroutine, "close", lambda: None)()
                return
            if update.callback_query is not None:
                self.answers.watch(update.callback_query.id)
            chat = update.effective_chat
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                if isinstance(update, Update) and self.intake is not None:
                    await self.intake.begin(update)
                await coroutine
        finally:
            self._waiting[chat.id] -= 1
            if self._waiting[chat.id] == 0:
                del self._waiting[chat.id]
                del self._locks[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
