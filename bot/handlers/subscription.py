"""Digest subscription: /subscribe and /unsubscribe."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from briefbot.bot import views
from briefbot.bot.handlers.common import can_manage_chat, chat_state, reply
from briefbot.bot.services import services


async def _set_subscription(
    update: Update, context: ContextTypes.DEFAULT_TYPE, subscribed: bool
) -> None:
    state = chat_state(update, context)
    if not await can_manage_chat(update, context):
        await reply(update, context, views.NOT_GROUP_ADMIN)
        return
    changed = services(context).store.set_subscribed(state.chat_id, subscribed)
    if subscribed:
        await reply(update, context, views.SUBSCRIBED if changed else views.ALREADY_SUBSCRIBED)
    else:
        await reply(update, context, views.UNSUBSCRIBED if changed else views.NOT_SUBSCRIBED)


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_subscription(update, context, True)


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_subscription(update, context, False)
