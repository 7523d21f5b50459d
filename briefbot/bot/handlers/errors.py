"""The error handler: log the failure in one place, tell the chat briefly, never raise."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError

from briefbot.bot import views
from briefbot.bot.context import BriefbotContext
from briefbot.bot.ratelimit import may_have_arrived
from briefbot.bot.replies import reply
from briefbot.database import StoreError

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BriefbotContext) -> None:
    try:
        await _report(update, context)
    except Exception:  # the report itself failed (say, a malformed answer): log, go on
        logger.exception("Could not report an error to its chat")


async def _report(update: object, context: BriefbotContext) -> None:
    error = context.error
    if not isinstance(update, Update):
        logger.warning(
            "Error outside an update: %s", error, exc_info=not isinstance(error, NetworkError)
        )
        return
    if isinstance(error, StoreError):
        # Nothing was written (each change is one transaction); one clear line is enough.
        logger.error(
            "Update %s not handled: %s", update.update_id, error, extra={"kind": error.kind}
        )
    else:
        logger.error("Update %s failed", update.update_id, exc_info=error)
    if update.effective_chat is None or isinstance(error, Forbidden):
        return  # nowhere to answer, or the bot was blocked or removed
    if isinstance(error, NetworkError) and may_have_arrived(error):
        return  # the answer may have arrived after all: an apology could follow a reply
    text = (
        views.store_error(error.kind) if isinstance(error, StoreError) else views.internal_error()
    )
    query = update.callback_query
    if query is not None and not context.bot_data.answers.answered(query.id):
        await context.bot_data.answers.answer(query.id, text)
    else:
        await reply(update, context, text)
