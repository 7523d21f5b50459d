"""/feed add URL, /feed list, /feed remove N, and the job that reads every feed."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatAction

from briefbot.articles import FetchError, PollResult, poll_feed
from briefbot.articles.text import clean_url
from briefbot.bot import views
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import reply, thread_of
from briefbot.services import Services

logger = logging.getLogger(__name__)


async def feed(update: Update, context: BriefbotContext) -> None:
    args = context.args or []
    action = args[0].lower() if args else ""
    services = context.services
    feeds = services.feeds
    if action == "list":
        await reply(update, context, views.feed_list(await services.db.run(feeds.all)))
    elif action == "add" and len(args) == 2:
        await _add(update, context, args[1])
    elif action == "remove" and len(args) == 2 and args[1].lstrip("#").isdigit():
        number = args[1].lstrip("#")
        removed = await services.db.run(feeds.remove, int(number[:12]))
        text = views.feed_removed(removed) if removed else views.no_such_feed(number)
        await reply(update, context, text)
    else:
        await reply(update, context, views.feed_usage())


async def _add(update: Update, context: BriefbotContext, url: str) -> None:
    services = context.services
    url = clean_url(url if "://" in url else "https://" + url) or ""
    if not url:
        await reply(update, context, views.feed_usage())
        return
    user = update.effective_user
    entry, created = await services.db.run(services.feeds.add, url, user.id if user else None)
    if not created:
        await reply(update, context, views.feed_exists(entry.id))
        return
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_chat_action(
            chat.id, ChatAction.TYPING, message_thread_id=thread_of(update)
        )
    try:
        result = await poll_feed(
            services.feeds, services.library, entry, services.settings.fetch_limits()
        )
    except FetchError as exc:
        await services.db.run(services.feeds.remove, entry.id)
        await reply(update, context, views.link_rejected(url, exc))
        return
    _after_poll(services, result)
    await reply(update, context, views.feed_added(result))


def _after_poll(services: Services, result: PollResult) -> None:
    if result.added:
        services.article_added()
        logger.info("Feed #%d: %d new articles", result.feed.id, len(result.added))


async def poll_all(context: BriefbotContext) -> None:
    """The JobQueue job: every feed, one after another; one failing feed stops nothing."""
    services = context.services
    for entry in await services.db.run(services.feeds.all):
        try:
            result = await poll_feed(
                services.feeds, services.library, entry, services.settings.fetch_limits()
            )
        except FetchError as exc:
            logger.warning("Feed #%d (%s): %s", entry.id, entry.url, exc)
        except Exception:
            logger.exception("Feed #%d (%s) failed", entry.id, entry.url)
        else:
            _after_poll(services, result)
