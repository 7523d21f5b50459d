"""Sending answers: to the chat and forum topic that asked, following a group that became a
supergroup, and editing a card only when the edit changes something."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, ChatMigrated

from briefbot.bot.cards import Card
from briefbot.bot.context import BriefbotContext

logger = logging.getLogger(__name__)


def thread_of(update: Update) -> int | None:
    """The forum topic an update came from (None outside forum topics)."""
    message = update.effective_message
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


async def send(
    context: BriefbotContext,
    chat_id: int,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    thread_id: int | None = None,
) -> Message:
    """Send a message; a chat that moved to a new id (a group that became a supergroup) is
    moved in the database too, and the message goes to the new id."""
    try:
        return await context.bot.send_message(
            chat_id, text, reply_markup=keyboard, message_thread_id=thread_id
        )
    except ChatMigrated as exc:
        services = context.services
        await services.db.run(services.chats.migrate, chat_id, exc.new_chat_id)
        return await context.bot.send_message(
            exc.new_chat_id, text, reply_markup=keyboard, message_thread_id=thread_id
        )


async def reply(
    update: Update,
    context: BriefbotContext,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Answer in the chat and forum topic the update came from."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await send(context, chat.id, text, keyboard, thread_of(update))


async def reply_card(update: Update, context: BriefbotContext, card: Card) -> Message | None:
    """Send a card; one whose summary was shown as it was written goes on that message."""
    live, context.live_message = context.live_message, None
    if live is not None:
        try:
            await context.bot.edit_message_text(
                card.text,
                chat_id=live.chat_id,
                message_id=live.message_id,
                reply_markup=card.keyboard,
            )
            context.bot_data.shown.remember(live.chat_id, live.message_id, card)
            return live
        except BadRequest as exc:
            logger.info("Could not finish message %s (%s); sending the card", live.message_id, exc)
    message = await reply(update, context, card.text, card.keyboard)
    if message is not None:
        context.bot_data.shown.remember(message.chat_id, message.message_id, card)
    return message


class ShownCards:
    """What the bot last put on each of its recent messages, to tell an edit that changes
    nothing (two quick presses of one button) before Telegram refuses it."""

    def __init__(self, size: int = 5_000) -> None:
        self.size = size
        self._shown: OrderedDict[tuple[int, int], str] = OrderedDict()

    @staticmethod
    def fingerprint(card: Card) -> str:
        markup = card.keyboard.to_json() if card.keyboard is not None else ""
        return hashlib.sha256(f"{card.text}\0{markup}".encode()).hexdigest()

    def remember(self, chat_id: int, message_id: int, card: Card) -> None:
        key = (chat_id, message_id)
        self._shown[key] = self.fingerprint(card)
        self._shown.move_to_end(key)
        while len(self._shown) > self.size:
            self._shown.popitem(last=False)

    def shows(self, chat_id: int, message_id: int, card: Card) -> bool:
        return self._shown.get((chat_id, message_id)) == self.fingerprint(card)


def shows(update: Update, context: BriefbotContext, card: Card) -> bool:
    """Whether the message whose button was pressed shows `card` already: an edit would
    change nothing (and Telegram would refuse it)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if not isinstance(message, Message):
        return False
    if context.bot_data.shown.shows(message.chat_id, message.message_id, card):
        return True
    text = (message.text or "").strip()
    return text == card.plain_text() and message.reply_markup == card.keyboard


async def edit_card(update: Update, context: BriefbotContext, card: Card) -> None:
    """Show `card` on the message whose button was pressed, or in a new message when that
    one cannot be edited (gone, or too old). Check `shows` first: an edit that changes
    nothing is refused by Telegram."""
    query = update.callback_query
    message = query.message if query is not None else None
    if query is None or not isinstance(message, Message):
        await reply_card(update, context, card)
        return
    shown = context.bot_data.shown
    try:
        await query.edit_message_text(card.text, reply_markup=card.keyboard)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            logger.info(
                "Could not edit message %s (%s); sending a new one", message.message_id, exc
            )
            await reply_card(update, context, card)
            return
    shown.remember(message.chat_id, message.message_id, card)
