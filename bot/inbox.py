"""Durable update intake: updates are stored before Telegram is told they arrived.

`InboxBot` stores each getUpdates batch before returning it (the next getUpdates call is what
confirms them to Telegram). `PerChatUpdateProcessor` claims each update in the inbox before
handling it and marks it done after, so a redelivered or replayed update is handled once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor, ExtBot

from briefbot.articles import StoreError
from briefbot.articles.inbox import UpdateInbox

logger = logging.getLogger(__name__)


class InboxBot(ExtBot):
    def __init__(self, *args: Any, inbox: UpdateInbox | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = inbox

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates: Sequence[Update] = await super().get_updates(*args, **kwargs)
        if updates and self._inbox is not None:
            try:
                self._inbox.record(u.to_dict() for u in updates)
            except StoreError as exc:
                # Still handle them: the handlers meet the same database and tell the chat
                # what is wrong, which beats silence while the disk is full.
                logger.error("%d updates handled without a stored copy: %s", len(updates), exc)
        return tuple(updates)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats are served concurrently; one chat's updates run one after another.

    Without the per-chat order, two quick taps on "Next ▶" could both start from the same
    article. With an inbox, an update already handled (here or by another instance) is
    skipped, and one handled to the end is marked done.
    """

    def __init__(self, max_concurrent_updates: int = 64, inbox: UpdateInbox | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self.inbox = inbox
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    def _claim(self, update: Update) -> bool:
        if self.inbox is None:
            return True
        try:
            return self.inbox.begin(update.update_id, update.to_dict)
        except StoreError as exc:
            # Handle it anyway: the handler meets the same database and says so in the chat.
            logger.error("Update %d could not be claimed: %s", update.update_id, exc)
            return True

    def _done(self, update: Update) -> None:
        if self.inbox is None:
            return
        try:
            self.inbox.finish(update.update_id)
        except StoreError as exc:
            logger.error("Update %d could not be marked done: %s", update.update_id, exc)

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await self._handle(update, coroutine)
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                # Claimed only now: an update waiting its turn is not "being handled", so a
                # crash does not count against it.
                await self._handle(update, coroutine)
        finally:
            self._waiting[chat.id] -= 1
            if self._waiting[chat.id] == 0:
                del self._waiting[chat.id]
                del self._locks[chat.id]

    async def _handle(self, update: object, coroutine: Awaitable[object]) -> None:
        if isinstance(update, Update) and not self._claim(update):
            logger.info("Update %d was handled already; skipped", update.update_id)
            coroutine.close()  # type: ignore[attr-defined]
            return
        await coroutine
        if isinstance(update, Update):
            self._done(update)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
