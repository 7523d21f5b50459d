"""Admins manage the library: /articles, /delete (with confirmation), /edit, /admins."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from briefbot.articles import ArticleRejected
from briefbot.bot import views
from briefbot.bot.callbacks import Action, ButtonPress
from briefbot.bot.handlers.common import is_bot_admin, reply, send_article
from briefbot.bot.services import services

logger = logging.getLogger(__name__)


def _number(args: list[str] | None) -> int | None:
    if not args:
        return None
    word = args[0].lstrip("#")
    return int(word) if word.isdigit() and len(word) <= 12 else None


async def articles(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN_ACTION)
        return
    await _send_page(update, context, 0)


async def _send_page(update: Update, context: ContextTypes.DEFAULT_TYPE, page: int) -> None:
    store = services(context).store
    total = store.count()
    if total == 0:
        await reply(update, context, views.EMPTY_STORE)
        return
    text, keyboard = views.articles_page(store.page(page, views.ARTICLES_PAGE_SIZE), page, total)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, reply_markup=keyboard)


async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN_ACTION)
        return
    article_id = _number(context.args)
    if article_id is None:
        await reply(update, context, views.DELETE_USAGE)
        return
    article = services(context).store.get(article_id)
    if article is None:
        await reply(update, context, f"There is no article #{article_id}.")
        return
    text, keyboard = views.confirm_delete(article)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, reply_markup=keyboard)


async def edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN_ACTION)
        return
    article_id = _number(context.args)
    title = " ".join((context.args or [])[1:])
    if article_id is None or not title:
        await reply(update, context, views.EDIT_USAGE)
        return
    try:
        article = services(context).store.set_title(article_id, title)
    except ArticleRejected as exc:
        await reply(update, context, views.article_rejected(str(exc)))
        return
    if article is None:
        await reply(update, context, f"There is no article #{article_id}.")
        return
    await send_article(update, context, article, with_summary=False)


async def admins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN_ACTION)
        return
    await reply(update, context, views.admins_text(sorted(services(context).settings.admins)))


async def admin_button(
    update: Update, context: ContextTypes.DEFAULT_TYPE, press: ButtonPress
) -> None:
    """Delete / Keep / page buttons; the presser's rights are checked now, not when sent."""
    query = update.callback_query
    assert query is not None
    if not is_bot_admin(update, context):
        await query.answer(views.NOT_ADMIN_ACTION)
        return
    store = services(context).store
    if press.action is Action.PAGE:
        await query.answer()
        total = store.count()
        text, keyboard = views.articles_page(
            store.page(press.article_id, views.ARTICLES_PAGE_SIZE), press.article_id, total
        )
        await _edit(query, text, keyboard)
        return
    if press.action is Action.KEEP:
        await query.answer()
        await _edit(query, views.kept(press.article_id), None)
        return
    removed = store.delete_article(press.article_id)
    if removed is None:
        await query.answer(views.ARTICLE_GONE)
        return
    await query.answer("Deleted")
    await _edit(query, views.deleted(removed), None)


async def _edit(query, text: str, keyboard) -> None:
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:
        # The press was answered already; a message deleted meanwhile needs no new text.
        if "not modified" not in exc.message.lower():
            logger.info("Could not edit the confirmation message: %s", exc)
