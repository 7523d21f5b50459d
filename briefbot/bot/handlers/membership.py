"""The bot's place in chats: added to or removed from a group, blocked by a user, and a
group that became a supergroup (with a new chat id)."""

from __future__ import annotations

import logging

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus, ChatType

from briefbot.bot import views
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import reply

logger = logging.getLogger(__name__)

GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


def _joined(change: ChatMemberUpdated) -> bool:
    return change.old_chat_member.status in GONE and change.new_chat_member.status not in GONE


async def my_membership(update: Update, context: BriefbotContext) -> None:
    """Removed, kicked or blocked: unsubscribe at once. Added to a group: say hello."""
    change = update.my_chat_member
    if change is None:
        return
    services, chat = context.services, change.chat
    if change.new_chat_member.status in GONE:
        if await services.db.run(services.chats.set_subscribed, chat.id, False):
            logger.info("Removed from chat %s: unsubscribed", chat.id)
        return
    if _joined(change) and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        await reply(update, context, views.added_to_group())


async def migrated(update: Update, context: BriefbotContext) -> None:
    """A group became a supergroup: its state moves to the new chat id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    services = context.services
    await services.db.run(services.chats.migrate, old, new)
