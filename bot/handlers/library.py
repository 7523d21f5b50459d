"""Admins add articles: a private message with title and text, or /add anywhere."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from briefbot.articles import ArticleRejected
from briefbot.articles.text import split_title_and_body
from briefbot.bot import views
from briefbot.bot.handlers.common import is_bot_admin, reply, send_article
from briefbot.bot.services import services

logger = logging.getLogger(__name__)


async def _add_article(update: Update, context: ContextTypes.DEFAULT_TYPE, raw: str) -> None:
    title, body = split_title_and_body(raw)
    if not title or not body:
        await reply(update, context, views.ADD_USAGE)
        return
    user = update.effective_user
    try:
        result = services(context).store.add_article(
            title, body, added_by=user.id if user else None, origin="telegram"
        )
    except ArticleRejected as exc:
        await reply(update, context, views.article_rejected(str(exc)))
        return
    if not result.created:
        await reply(update, context, views.article_duplicate(result.article))
        return
    logger.info("Admin %s added article %d", user.id if user else "?", result.article.id)
    services(context).article_added()
    await reply(update, context, views.article_added(result.article))
    await send_article(update, context, result.article, with_summary=True)


def _command_argument(text: str) -> str:
    """Everything after the command word, keeping the line breaks."""
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN)
        return
    message = update.effective_message
    assert message is not None
    await _add_article(update, context, _command_argument(message.text or ""))


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text in a private chat: an article from an admin, a hint for anyone else."""
    message = update.effective_message
    assert message is not None
    if not is_bot_admin(update, context):
        await reply(update, context, views.PLAIN_TEXT_HINT)
        return
    await _add_article(update, context, message.text or "")
