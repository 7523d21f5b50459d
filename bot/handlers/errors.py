"""The error handler: log the failure, tell the chat briefly, never raise."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from briefbot.articles import StoreError
from briefbot.bot import views

logger = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, NetworkError) and not isinstance(update, Update):
        logger.warning("Telegram network error: %s", error)
        return
    update_id = getattr(update, "update_id", "?")
    if isinstance(error, StoreError):
        # Nothing was written (each change is one transaction); one clear line is enough.
        logger.error("Update %s not handled: %s", update_id, error, extra={"kind": error.kind})
    else:
        logger.error("Update %s failed", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(error, Forbidden):
        return  # the bot was blocked or removed; nothing to tell
    text = views.store_error(error.kind) if isinstance(error, StoreError) else views.INTERNAL_ERROR
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200])
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        logger.warning("Could not report the error to chat %s: %s", update.effective_chat.id, exc)
