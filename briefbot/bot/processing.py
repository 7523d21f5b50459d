"""How updates are run: chats side by side, each chat's updates in order, presses in time."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseUpdateProcessor, ExtBot

from briefbot.bot.intake import Intake

logger = logging.getLogger(__name__)

# Telegram lets a button press wait about 15 s for its answer.
LATE_ANSWER_SECONDS = 8.0


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

    A polled update the intake refused (a flood) or has seen before is skipped here.
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
