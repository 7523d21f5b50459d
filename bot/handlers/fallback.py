"""Answers for what no other handler takes: unknown commands and non-text messages."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from briefbot.bot import views
from briefbot.bot.handlers.common import is_private, reply


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or not message.text:
        return
    word = message.text.split(maxsplit=1)[0][1:]
    command, _, addressee = word.partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # meant for another bot in the group
    if not is_private(chat) and not addressee:
        return  # in groups, answer only commands addressed to us explicitly
    await reply(update, context, views.unknown_command(command[:64]))


async def other_private_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos and the like in a private chat."""
    await reply(update, context, views.PLAIN_TEXT_HINT)
