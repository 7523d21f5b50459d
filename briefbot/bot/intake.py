"""Where updates come in: the flood gate, then the inbox, before Telegram is told they arrived.

Long polling confirms a batch with the next getUpdates call, and a webhook with its 200
answer; either way the batch is stored first (see briefbot.coordination.inbox). A user who
sends more than their share is slowed down here, before anything is queued for them: their
extra messages are dropped with one notice per flood, and extra button presses are answered
at once with a short notice, so nobody's queue grows and nobody waits behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from enum import Enum
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ExtBot

from briefbot.bot import views
from briefbot.bot.ratelimit import Buckets
from briefbot.coordination import Inbox
from briefbot.database import StoreError

logger = logging.getLogger(__name__)

FLOOD_BURST = 10


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
    def __init__(self, inbox: Inbox, gate: FloodGate, bot: ExtBot[Any]) -> None:
        self.inbox = inbox
        self.gate = gate
        self.bot = bot
        self._skip: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def accept(self, updates: Sequence[Update]) -> list[Update]:
        """Store a batch; returns the updates to handle (new and admitted, in order)."""
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
            new = await self.inbox.db.run(
                self.inbox.record, [u.to_dict() for u in updates], dropped
            )
        except StoreError as exc:
            # Handle them anyway: the handlers meet the same database and tell the chat what
            # is wrong, which beats silence while the disk is full.
            logger.error("%d updates handled without a stored copy: %s", len(updates), exc)
            new = {u.update_id for u in updates} - dropped
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
            notice = self.bot.answer_callback_query(query.id, views.FLOODED_PRESS)
        elif warn and chat is not None:
            thread = message.message_thread_id if message and message.is_topic_message else None
            notice = self.bot.send_message(chat.id, views.FLOODED, message_thread_id=thread)
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
            await self._intake.accept(updates)
        return updates
