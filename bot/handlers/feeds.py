"""/feed add URL, /feed list, /feed remove N, and the job that polls every feed."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import ContextTypes

from briefbot.articles.feeds import FeedStore, PollResult, poll_feed
from briefbot.articles.text import clean_url
from briefbot.articles.web import FetchError
from briefbot.bot import views
from briefbot.bot.handlers.common import is_bot_admin, reply
from briefbot.bot.services import BotServices, services

logger = logging.getLogger(__name__)


async def feed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN_ACTION)
        return
    args = context.args or []
    action = args[0].lower() if args else ""
    svc = services(context)
    feeds = FeedStore(svc.store)
    if action == "list":
        await reply(update, context, views.feed_list(feeds.all()))
    elif action == "add" and len(args) == 2:
        await _add(update, context, feeds, args[1])
    elif action == "remove" and len(args) == 2 and args[1].lstrip("#").isdigit():
        removed = feeds.remove(int(args[1].lstrip("#")))
        text = views.feed_removed(removed) if removed else f"There is no feed #{args[1]}."
        await reply(update, context, text)
    else:
        await reply(update, context, views.FEED_USAGE)


async def _add(
    update: Update, context: ContextTypes.DEFAULT_TYPE, feeds: FeedStore, url: str
) -> None:
    svc = services(context)
    url = clean_url(url if "://" in url else "https://" + url) or ""
    if not url:
        await reply(update, context, views.FEED_USAGE)
        return
    user = update.effective_user
    entry, created = feeds.add(url, user.id if user else None)
    if not created:
        await reply(update, context, f"Already following this feed as #{entry.id}.")
        return
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    try:
        result = await poll_feed(feeds, entry, svc.settings.fetch_limits())
    except FetchError as exc:
        feeds.remove(entry.id)
        await reply(update, context, views.link_rejected(url, str(exc)))
        return
    _after_poll(svc, result)
    await reply(update, context, views.feed_added(result))


def _after_poll(svc: BotServices, result: PollResult) -> None:
    if result.added:
        svc.article_added()
        logger.info("Feed #%d: %d new articles", result.feed.id, len(result.added))


async def poll_all(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue job: every feed, one after another; one failing feed stops nothing."""
    svc = services(context)
    feeds = FeedStore(svc.store)
    for entry in feeds.all():
        try:
            _after_poll(svc, await poll_feed(feeds, entry, svc.settings.fetch_limits()))
        except FetchError as exc:
            logger.warning("Feed #%d (%s): %s", entry.id, entry.url, exc)
        except Exception:
            logger.exception("Feed #%d (%s) failed", entry.id, entry.url)
