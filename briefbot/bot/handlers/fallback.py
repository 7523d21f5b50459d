"""Answers for what no other handler takes: unknown commands, non-admin text and the like."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from briefbot.bot import views
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import reply


async def unknown_command(update: Update, context: BriefbotContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or not message.text:
        return
    word = message.text.split(maxsplit=1)[0][1:]
    command, _, addressee = word.partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # meant for another bot in the group
    if chat.type != ChatType.PRIVATE and not addressee:
        return  # in groups, answer only commands addressed to us explicitly
    await reply(update, context, views.unknown_command(command[:64]))


async def not_admin(update: Update, context: BriefbotContext) -> None:
    """An admin command from someone who is not a bot admin."""
    await reply(update, context, views.not_admin())


async def hint(update: Update, context: BriefbotContext) -> None:
    """Text, stickers, photos or documents in a private chat from a reader."""
    await reply(update, context, views.plain_text_hint())
