"""Reading: /start, /help, /summary, /next, /prev, /latest and the article buttons."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from briefbot.bot import views
from briefbot.bot.callbacks import Action, decode
from briefbot.bot.handlers import manage
from briefbot.bot.handlers.common import (
    can_manage_chat,
    chat_state,
    current_article,
    is_bot_admin,
    is_not_modified,
    render_article,
    reply,
    send_article,
)
from briefbot.bot.services import services
from briefbot.models import SummaryLength

logger = logging.getLogger(__name__)

LATEST_COUNT = 10


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    store = services(context).store
    state = chat_state(update, context)
    if await can_manage_chat(update, context):
        store.set_subscribed(state.chat_id, True)
        await reply(update, context, views.WELCOME)
    else:
        await reply(update, context, views.welcome_unsubscribed())
    latest = store.latest(1)
    if not latest:
        await reply(update, context, views.EMPTY_STORE)
        return
    await send_article(update, context, latest[0], with_summary=False)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, context, views.help_text(is_bot_admin(update, context)))


def _parse_length(word: str) -> SummaryLength | None:
    try:
        return SummaryLength(word.lower())
    except ValueError:
        return None


def chat_length(update: Update, context: ContextTypes.DEFAULT_TYPE) -> SummaryLength:
    """The chat's default summary length (/length)."""
    return _parse_length(chat_state(update, context).summary_length) or SummaryLength.STANDARD


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if context.args:
        length = _parse_length(context.args[0])
        if length is None:
            await reply(update, context, views.length_usage(context.args[0]))
            return
    else:
        length = chat_length(update, context)
    article = current_article(update, context)
    if article is None:
        await reply(update, context, views.EMPTY_STORE)
        return
    await send_article(update, context, article, with_summary=True, length=length)


async def _move(update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action) -> None:
    article = current_article(update, context)
    if article is None:
        await reply(update, context, views.EMPTY_STORE)
        return
    direction = "next" if action is Action.NEXT else "prev"
    target = services(context).store.neighbour(article.id, direction)
    if target is None:
        await reply(
            update, context, views.CAUGHT_UP if action is Action.NEXT else views.FIRST_ARTICLE
        )
        return
    await send_article(
        update, context, target, with_summary=True, length=chat_length(update, context)
    )


async def length_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show or set the chat's default summary length."""
    state = chat_state(update, context)
    if not context.args:
        await reply(update, context, views.length_status(state.summary_length))
        return
    length = _parse_length(context.args[0])
    if length is None:
        await reply(update, context, views.length_usage(context.args[0]))
        return
    if not await can_manage_chat(update, context):
        await reply(update, context, views.NOT_GROUP_ADMIN)
        return
    services(context).store.set_summary_length(state.chat_id, length.value)
    await reply(update, context, views.length_set(length.value))


async def next_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _move(update, context, Action.NEXT)


async def previous_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _move(update, context, Action.PREV)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat_state(update, context)
    articles = services(context).store.latest(LATEST_COUNT)
    if not articles:
        await reply(update, context, views.EMPTY_STORE)
        return
    text, keyboard = views.latest_list(articles)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, reply_markup=keyboard)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle ◀ Previous, Get a summary, Next ▶ and the /latest buttons."""
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    chat = update.effective_chat
    if press is None or chat is None:
        await query.answer(views.STALE_BUTTON)
        return
    if press.action in (Action.DELETE, Action.KEEP, Action.PAGE):
        await manage.admin_button(update, context, press)
        return
    store = services(context).store
    article = store.get(press.article_id)
    if article is None:
        await query.answer(views.ARTICLE_GONE)
        return
    target = article
    if press.action in (Action.PREV, Action.NEXT):
        direction = "next" if press.action is Action.NEXT else "prev"
        neighbour = store.neighbour(article.id, direction)
        if neighbour is None:
            end = views.CAUGHT_UP if press.action is Action.NEXT else views.FIRST_ARTICLE
            await query.answer(end)
            return
        target = neighbour
    await query.answer()
    chat_state(update, context)

    length = chat_length(update, context)
    if press.action is Action.OPEN or not isinstance(query.message, Message):
        await send_article(update, context, target, with_summary=True, length=length)
        return
    store.set_current_article(chat.id, target.id)
    user = update.effective_user
    text = await render_article(
        context,
        chat.id,
        target,
        with_summary=True,
        length=length,
        user_id=user.id if user else None,
    )
    try:
        await query.edit_message_text(text, reply_markup=views.article_keyboard(target))
    except BadRequest as exc:
        if is_not_modified(exc):
            return
        logger.info("Could not edit message %s (%s); sending a new one", query.message.id, exc)
        await send_article(update, context, target, with_summary=True, length=length)
