"""A summary shown as the model writes it: one message (the pressed card, or a new one for a
command), edited with the text so far at most once per `interval`, inside Telegram's pace for
the chat; the handler then puts the finished card on the same message. Only the final text is
cached. A failed edit ends the showing, never the summary."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from html import escape

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from briefbot.articles import Article
from briefbot.bot.cards import article_card
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import reply
from briefbot.bot.views import clip
from briefbot.models import SummaryLength

logger = logging.getLogger(__name__)

WRITING = " ✍️"
# Seconds between edits: a private chat takes about one message a second, a group twenty a
# minute (an edit counts like a message).
PRIVATE_INTERVAL = 1.5
GROUP_INTERVAL = 3.5


class LiveSummary:
    def __init__(
        self,
        update: Update,
        context: BriefbotContext,
        article: Article,
        length: SummaryLength,
        interval: float | None = None,
    ) -> None:
        self.update = update
        self.context = context
        self.article = article
        self.length = length
        chat = update.effective_chat
        private = chat is not None and chat.type == ChatType.PRIVATE
        self.interval = interval or (PRIVATE_INTERVAL if private else GROUP_INTERVAL)
        query = update.callback_query
        pressed = query.message if query is not None else None
        self.message: Message | None = pressed if isinstance(pressed, Message) else None
        self.edits = 0
        self._latest: str | None = None
        self._shown: str | None = None
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._closed = False
        self._broken = False
        self._pump: asyncio.Task[None] | None = None

    def show(self, text: str) -> None:
        """The text so far (called on the event loop each time it grows)."""
        if self._closed or self._broken:
            return
        self._latest = text
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())
        self._wake.set()

    async def close(self) -> Message | None:
        """Stop showing (an edit on its way is finished first); returns the message the
        finished card belongs on, or None when nothing was shown."""
        self._closed = True
        self._closing.set()
        self._wake.set()
        if self._pump is not None:
            await self._pump
        return self.message if self.edits else None

    async def _run(self) -> None:
        while not self._broken and not self._closed:
            if self._latest is not None and self._latest != self._shown:
                text = self._latest
                await self._put(text)
                self._shown = text
                # The pace: wait, unless the summary is done meanwhile.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=self.interval)
                continue
            self._wake.clear()
            await self._wake.wait()

    async def _put(self, text: str) -> None:
        header = article_card(self.article, length=self.length).text.split("\n\n", 1)[0]
        body = escape(clip(text, 3500)) + WRITING
        try:
            if self.message is None:
                self.message = await reply(self.update, self.context, f"{header}\n\n{body}")
            else:
                await self.context.bot.edit_message_text(
                    f"{header}\n\n{body}",
                    chat_id=self.message.chat_id,
                    message_id=self.message.message_id,
                )
            self.edits += 1
        except TelegramError as exc:
            logger.info("Stopped showing a summary as it is written: %s", exc)
            self._broken = True
