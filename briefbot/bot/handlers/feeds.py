"""/feed add URL, /feed list, /feed remove N, OPML import and export, and the job that reads
every feed."""

from __future__ import annotations

import asyncio
import logging

from telegram import Document, InputFile, Update
from telegram.constants import ChatAction

from briefbot.articles import FetchError, PollResult, poll_feed
from briefbot.articles.opml import MAX_OPML_BYTES, ImportCounts, read_opml, write_opml
from briefbot.articles.text import ArticleRejected, clean_url
from briefbot.bot import views
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import reply, thread_of
from briefbot.services import Services

logger = logging.getLogger(__name__)

# An OPML import checks each feed like /feed add (fetching it), a few at a time, at most this
# many per file: a reply within minutes, not hours.
MAX_IMPORT = 100
IMPORT_CONCURRENCY = 4


async def feed(update: Update, context: BriefbotContext) -> None:
    args = context.args or []
    action = args[0].lower() if args else ""
    services = context.services
    feeds = services.feeds
    if action == "list":
        await reply(update, context, views.feed_list(await services.db.run(feeds.all)))
    elif action == "add" and len(args) == 2:
        await _add(update, context, args[1])
    elif action == "import":
        await _import_replied_to(update, context)
    elif action == "export":
        await export(update, context)
    elif action == "remove" and len(args) == 2 and args[1].lstrip("#").isdigit():
        number = args[1].lstrip("#")
        removed = await services.db.run(feeds.remove, int(number[:12]))
        text = views.feed_removed(removed) if removed else views.no_such_feed(number)
        await reply(update, context, text)
    else:
        await reply(update, context, views.feed_usage())


async def _follow(services: Services, url: str, user_id: int | None) -> PollResult | int:
    """Follow a feed: its entries are read now. Returns what was read, or the id of the feed
    when it is followed already; raises FetchError (and follows nothing) when it cannot be read."""
    entry, created = await services.db.run(services.feeds.add, url, user_id)
    if not created:
        return entry.id
    try:
        result = await poll_feed(
            services.feeds, services.library, entry, services.settings.fetch_limits()
        )
    except FetchError:
        await services.db.run(services.feeds.remove, entry.id)
        raise
    _after_poll(services, result)
    return result


async def _add(update: Update, context: BriefbotContext, url: str) -> None:
    url = clean_url(url if "://" in url else "https://" + url) or ""
    if not url:
        await reply(update, context, views.feed_usage())
        return
    chat, user = update.effective_chat, update.effective_user
    if chat is not None:
        await context.bot.send_chat_action(
            chat.id, ChatAction.TYPING, message_thread_id=thread_of(update)
        )
    try:
        followed = await _follow(context.services, url, user.id if user else None)
    except FetchError as exc:
        await reply(update, context, views.link_rejected(url, exc))
        return
    if isinstance(followed, int):
        await reply(update, context, views.feed_exists(followed))
    else:
        await reply(update, context, views.feed_added(followed))


async def import_opml(update: Update, context: BriefbotContext, document: Document) -> None:
    """An OPML file's feeds, each checked and followed like /feed add; one reply counts them."""
    name = document.file_name or "feeds.opml"
    if document.file_size and document.file_size > MAX_OPML_BYTES:
        refusal = ArticleRejected("the OPML file is larger than {megabytes} MB", megabytes=2)
        await reply(update, context, views.document_rejected(name, refusal))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        found = await asyncio.to_thread(read_opml, data)
    except ArticleRejected as exc:
        await reply(update, context, views.document_rejected(name, exc))
        return
    counts = ImportCounts(
        listed=len(found.urls),
        left_out=max(0, len(found.urls) - MAX_IMPORT),
        invalid=found.invalid,
    )
    chat, user = update.effective_chat, update.effective_user
    if chat is not None:
        await context.bot.send_chat_action(
            chat.id, ChatAction.TYPING, message_thread_id=thread_of(update)
        )
    gate = asyncio.Semaphore(IMPORT_CONCURRENCY)

    async def follow(url: str) -> None:
        async with gate:
            try:
                followed = await _follow(context.services, url, user.id if user else None)
            except FetchError as exc:
                counts.refused.append((url, exc))
                return
        if isinstance(followed, int):
            counts.followed_already += 1
        else:
            counts.added += 1

    await asyncio.gather(*(follow(url) for url in found.urls[:MAX_IMPORT]))
    place = {url: index for index, url in enumerate(found.urls)}
    counts.refused.sort(key=lambda refused: place[refused[0]])  # in the file's order
    await reply(update, context, views.opml_imported(name, counts))


async def _import_replied_to(update: Update, context: BriefbotContext) -> None:
    """/feed import in reply to an OPML file imports it; otherwise, how to."""
    message = update.effective_message
    replied = message.reply_to_message if message else None
    if replied is not None and replied.document is not None:
        await import_opml(update, context, replied.document)
    else:
        await reply(update, context, views.opml_usage())


async def export(update: Update, context: BriefbotContext) -> None:
    """/feed export: the feeds followed, as an OPML file."""
    services = context.services
    feeds = await services.db.run(services.feeds.all)
    chat = update.effective_chat
    if not feeds or chat is None:
        await reply(update, context, views.feed_list([]))
        return
    data = await asyncio.to_thread(write_opml, feeds)
    await context.bot.send_document(
        chat.id,
        InputFile(data, filename="briefbot-feeds.opml"),
        caption=views.feeds_exported(len(feeds)),
        message_thread_id=thread_of(update),
    )


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
