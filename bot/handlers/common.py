"""Helpers shared by the handlers: chat state, permissions, showing an article."""

from __future__ import annotations

import logging

from telegram import Chat, Message, Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from briefbot.articles import Article, ChatState
from briefbot.bot import views
from briefbot.bot.services import services
from briefbot.models import SummaryFailed, SummaryLength, SummaryUnavailable

logger = logging.getLogger(__name__)

GROUP_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


def is_private(chat: Chat) -> bool:
    return chat.type == ChatType.PRIVATE


def chat_state(update: Update, context: ContextTypes.DEFAULT_TYPE) -> ChatState:
    chat = update.effective_chat
    assert chat is not None
    return services(context).store.touch_chat(chat.id, chat.type, chat.title or chat.username)


def current_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Article | None:
    """The chat's current article; the newest one when none is set or it was deleted."""
    store = services(context).store
    state = chat_state(update, context)
    if state.current_article_id is not None:
        article = store.get(state.current_article_id)
        if article is not None:
            return article
    latest = store.latest(1)
    return latest[0] if latest else None


def is_bot_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return services(context).is_admin(user.id if user else None)


async def can_manage_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private chats manage themselves; in groups, bot admins and the group's admins may."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None:
        return False
    if is_private(chat) or is_bot_admin(update, context):
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


class SlowDown(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


async def summarize_for_chat(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    article: Article,
    length: SummaryLength,
    user_id: int | None = None,
) -> str:
    """The summary; shows "typing" while the model works.

    Raises SlowDown when this user has asked for too many new summaries lately, and
    SummaryUnavailable (SummaryFailed for a recorded failure) when there is none to give.
    """
    svc = services(context)
    summaries = svc.summaries
    cached = summaries.cached(article, length)
    if cached is not None:
        return cached
    if user_id is not None and not svc.is_admin(user_id):
        wait = svc.quota.take(user_id)
        if wait > 0:
            raise SlowDown(wait)
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as exc:
        logger.debug("typing indicator failed: %s", exc)
    return await summaries.summary_for(article, length)


async def render_article(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    article: Article,
    *,
    with_summary: bool,
    length: SummaryLength = SummaryLength.STANDARD,
    user_id: int | None = None,
) -> str:
    if not with_summary:
        return views.article_card(article)
    try:
        summary = await summarize_for_chat(context, chat_id, article, length, user_id)
    except SlowDown as slow:
        return views.article_card(article) + "\n\n" + views.slow_down(slow.seconds)
    except SummaryFailed as failed:
        show_reason = services(context).is_admin(user_id)
        return (
            views.article_card(article)
            + "\n\n"
            + views.summary_failed(failed.failure, show_reason=show_reason)
        )
    except SummaryUnavailable:
        return views.article_card(article) + "\n\n" + views.SUMMARY_UNAVAILABLE
    return views.article_card(article, summary)


async def send_article(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    article: Article,
    *,
    with_summary: bool,
    length: SummaryLength = SummaryLength.STANDARD,
) -> Message:
    chat = update.effective_chat
    assert chat is not None
    services(context).store.set_current_article(chat.id, article.id)
    user = update.effective_user
    text = await render_article(
        context,
        chat.id,
        article,
        with_summary=with_summary,
        length=length,
        user_id=user.id if user else None,
    )
    return await context.bot.send_message(
        chat.id,
        text,
        reply_markup=views.article_keyboard(article),
        message_thread_id=_thread_id(update),
    )


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, message_thread_id=_thread_id(update))


def _thread_id(update: Update) -> int | None:
    message = update.effective_message
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


def is_not_modified(error: BadRequest) -> bool:
    return "message is not modified" in error.message.lower()
