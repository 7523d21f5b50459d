"""Who may do what: the bot's admins (a handler filter) and each group's own admins."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import filters

from briefbot.bot import views
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import reply

logger = logging.getLogger(__name__)

Handler = Callable[[Update, BriefbotContext], Coroutine[Any, Any, None]]
GROUP_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


class AdminAccess:
    """The bot's admins: BRIEFBOT_ADMINS, and those added with `briefbot admins add` (read
    again every few seconds). `filter` lets only them through a handler."""

    def __init__(self, configured: frozenset[int]) -> None:
        self.configured = configured
        self.added: set[int] = set()
        self.filter = filters.User(user_id=configured, allow_empty=False)

    @property
    def ids(self) -> frozenset[int]:
        return self.filter.user_ids

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.filter.user_ids

    def update(self, added: set[int]) -> set[int]:
        """Take the admins stored in the database; returns the ones that are new."""
        new = added - set(self.filter.user_ids)
        self.added = added
        self.filter.user_ids = self.configured | added
        return new


def is_bot_admin(update: Update, context: BriefbotContext) -> bool:
    user = update.effective_user
    return context.bot_data.admins.is_admin(user.id if user else None)


async def can_manage_chat(update: Update, context: BriefbotContext) -> bool:
    """Private chats manage themselves; in groups, bot admins and the group's admins may."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE or is_bot_admin(update, context):
        return True
    if message is not None and message.sender_chat is not None:
        # An anonymous admin posts as the group itself.
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        logger.warning("Could not check admin rights in chat %s: %s", chat.id, exc)
        return False
    return member.status in GROUP_ADMIN_STATUSES


def chat_managers_only(handler: Handler) -> Handler:
    """Run the handler only for those who may change this chat's settings."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BriefbotContext) -> None:
        if await can_manage_chat(update, context):
            await handler(update, context)
        else:
            await reply(update, context, views.not_group_admin())

    return guarded
