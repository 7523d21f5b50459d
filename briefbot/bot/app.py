"""Wiring: the Application, its handlers in one registration list, and the jobs around them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from briefbot.articles.importer import load_samples_if_empty
from briefbot.articles.language import load_detector
from briefbot.articles.meaning import EncoderUnavailable
from briefbot.bot.access import AdminAccess
from briefbot.bot.callbacks import CALLBACK_PATTERN
from briefbot.bot.commands import CommandTable, Who
from briefbot.bot.context import CONTEXT_TYPES, BotData, BriefbotContext
from briefbot.bot.digest.scheduler import DigestScheduler
from briefbot.bot.handlers import errors, fallback, feeds, inline, library, membership, reading
from briefbot.bot.ratelimit import TelegramRateLimiter, UserQuota
from briefbot.bot.replies import ShownCards
from briefbot.bot.updates import ButtonAnswers, ChatOrderProcessor, FloodGate, Intake, IntakeBot
from briefbot.config import Settings
from briefbot.database import StoreError
from briefbot.services import Services

logger = logging.getLogger(__name__)

BriefbotApp = Application[Any, BriefbotContext, dict[Any, Any], dict[Any, Any], BotData, Any]


class StartError(Exception):
    """The bot cannot start; the message is one line for the operator."""


# The update types Briefbot handles; Telegram sends no others.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    Update.INLINE_QUERY,
]
NEW_MESSAGES = filters.UpdateType.MESSAGE
PRIVATE = NEW_MESSAGES & filters.ChatType.PRIVATE
DIGEST_TICK_SECONDS = 60
PRUNE_SECONDS = 3600.0
VECTOR_IDLE_SECONDS = 60.0
# The last group: after the handler (or the error handler), the update's changes are written.
FINISH_GROUP = 1


def register_handlers(
    application: BriefbotApp, commands: CommandTable, admins: AdminAccess
) -> None:
    """Every handler, in order: the first matching handler of a group wins."""
    for command in commands.commands:
        only = admins.filter if command.who is Who.BOT_ADMINS else filters.ALL
        application.add_handler(
            CommandHandler(command.name, command.callback, filters=NEW_MESSAGES & only)
        )
    admin_names = [c.name for c in commands.for_admins()]
    application.add_handler(CommandHandler(admin_names, fallback.not_admin, filters=NEW_MESSAGES))
    application.add_handler(CallbackQueryHandler(reading.button, pattern=CALLBACK_PATTERN))
    application.add_handler(CallbackQueryHandler(reading.button))  # foreign or stale data
    application.add_handler(ChatMemberHandler(membership.my_membership))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(
        MessageHandler(NEW_MESSAGES & filters.StatusUpdate.MIGRATE, membership.migrated)
    )
    application.add_handler(
        MessageHandler(NEW_MESSAGES & filters.COMMAND, fallback.unknown_command)
    )
    by_admin = PRIVATE & admins.filter
    application.add_handler(
        MessageHandler(by_admin & filters.TEXT & ~filters.COMMAND, library.private_text)
    )
    application.add_handler(MessageHandler(by_admin & filters.Document.ALL, library.document))
    application.add_handler(
        MessageHandler(PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, fallback.hint)
    )
    application.add_handler(TypeHandler(Update, finish_turn), group=FINISH_GROUP)
    application.add_error_handler(errors.on_error)


async def finish_turn(update: Update, context: BriefbotContext) -> None:
    try:
        await context.turn.finish()
    except StoreError as exc:
        logger.error("Update %d not marked done: %s", update.update_id, exc)


def make_bot(settings: Settings, request: BaseRequest | None = None) -> IntakeBot:
    """Briefbot's Bot: HTML and no link previews by default, every request through the rate
    limiter; `request` replaces HTTP (the console's, which needs no rate limiter)."""
    limiter: TelegramRateLimiter | None = None
    if request is None:
        timeout = settings.request_timeout
        request = HTTPXRequest(
            connection_pool_size=128,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        limiter = TelegramRateLimiter(settings.send_rate)
    return IntakeBot(
        token=settings.require_token(),
        base_url=settings.api_url,
        base_file_url=settings.files_url,
        request=request,
        get_updates_request=request,
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            tzinfo=settings.zone,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        rate_limiter=limiter,
    )


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    polling: bool = True,
    schedule_digests: bool = True,
) -> BriefbotApp:
    """The Application with every handler; `request` replaces HTTP (the console's)."""
    settings = services.settings
    bot = make_bot(settings, request)
    gate = FloodGate(settings.user_messages_per_minute)
    intake = Intake(services.inbox, services.chats, gate, bot)
    if polling:
        bot.take_updates_through(intake)
    answers = ButtonAnswers(bot)
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(ChatOrderProcessor(answers, intake))
    )
    if not polling:
        builder = builder.updater(None)
    application: BriefbotApp = builder.build()
    data = application.bot_data
    data.services = services
    data.commands = CommandTable()
    data.admins = AdminAccess(settings.admins)
    data.answers = answers
    data.intake = intake
    data.shown = ShownCards()
    data.quota = UserQuota(settings.user_summaries_per_minute)
    data.scheduler = DigestScheduler(services, bot)
    data.schedule_digests = schedule_digests
    register_handlers(application, data.commands, data.admins)
    return application


# -- life cycle -----------------------------------------------------------------------------


async def start_services(application: BriefbotApp) -> None:
    """After Application.initialize: samples, admins, stored updates, jobs, background work.
    Nothing here stops the start because of a Bot API error."""
    data = application.bot_data
    services = data.services
    if services.settings.load_samples:
        await services.db.run(load_samples_if_empty, services.library)
    await _refresh_admins(application)
    await services.db.run(load_detector)
    await _take_over_updates(application)
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is required")
    lease = services.instances.lease.total_seconds()
    interval = max(1.0, lease / 3)
    job_queue.run_repeating(coordinate, interval=interval, first=interval, name="coordinate")
    if data.schedule_digests:
        to_next_minute = DIGEST_TICK_SECONDS - time.time() % DIGEST_TICK_SECONDS
        job_queue.run_once(digest_catch_up, when=0, name="digest-catch-up")
        job_queue.run_repeating(
            digest_tick, interval=DIGEST_TICK_SECONDS, first=to_next_minute, name="digest-tick"
        )
        feed_seconds = services.settings.feed_interval_minutes * 60
        job_queue.run_repeating(
            feeds.poll_all, interval=feed_seconds, first=feed_seconds, name="feeds"
        )
    if services.background is not None:
        data.tasks.append(asyncio.create_task(services.background.run_forever(), name="summaries"))
    data.tasks.append(asyncio.create_task(data.commands.register_menus(application), name="menus"))
    if services.background is None:  # else it makes them when it has no summary to make
        data.tasks.append(asyncio.create_task(fill_vectors(services), name="vectors"))
    count = await services.db.run(services.library.count)
    logger.info(
        "Briefbot @%s ready: %s, model %s",
        application.bot.username,
        f"{count:,} {'article' if count == 1 else 'articles'}",
        services.summaries.label,
    )


async def stop_services(application: BriefbotApp) -> None:
    """Before Application.stop: a fan-out in progress starts no more chats (the rest is
    resumed at the next start), and background work ends."""
    data = application.bot_data
    data.scheduler.stop()
    for task in data.tasks:
        task.cancel()
    for task in data.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    data.tasks.clear()


async def _refresh_admins(application: BriefbotApp) -> None:
    data = application.bot_data
    added = await data.services.db.run(data.services.admins.all)
    new = data.admins.update(added)
    if new and application.running:
        data.tasks.append(asyncio.create_task(data.commands.register_menus(application, new)))


async def _take_over_updates(application: BriefbotApp) -> None:
    """Queue the stored updates nobody finished: this instance's before a restart, and those
    a stopped instance left behind."""
    data = application.bot_data
    for update in await data.services.db.run(data.intake.take_over):
        application.update_queue.put_nowait(update)


async def fill_vectors(services: Services) -> None:
    """Articles' vectors (briefbot.articles.meaning), a batch at a time, until each article
    has one; then as articles are stored."""
    while True:
        services.vectors_wanted.clear()
        try:
            # Its own thread, not the database's: encoding must not hold up heartbeats.
            filled = await asyncio.to_thread(services.meanings.fill)
        except (StoreError, EncoderUnavailable) as exc:
            logger.error("Article vectors not made this round: %s", exc)
            filled = 0
        if not filled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(services.vectors_wanted.wait(), VECTOR_IDLE_SECONDS)


async def coordinate(context: BriefbotContext) -> None:
    """Heartbeat; take over what stopped instances left (updates, digest fan-outs); read
    the admins again; prune the inbox now and then."""
    application = context.application
    data: BotData = context.bot_data
    services = data.services
    db = services.db
    try:
        await db.run(services.instances.heartbeat)
        await _take_over_updates(application)  # type: ignore[arg-type]
        await _refresh_admins(application)  # type: ignore[arg-type]
        scheduler = data.scheduler
        if data.schedule_digests and not scheduler.busy:
            orphaned = await db.run(services.deliveries.orphaned_count)
            if orphaned:
                application.create_task(scheduler.run_due(resume=True), name="digest-takeover")
        if time.monotonic() - data.pruned_at > PRUNE_SECONDS:
            data.pruned_at = time.monotonic()
            await db.run(services.inbox.prune)
    except StoreError as exc:
        logger.error("Coordination skipped this round: %s", exc)


async def digest_tick(context: BriefbotContext) -> None:
    scheduler = context.bot_data.scheduler
    if scheduler.busy:
        logger.info("A digest fan-out is still running; this minute's check waits for it")
        return
    await scheduler.run_due()


async def digest_catch_up(context: BriefbotContext) -> None:
    """At start-up: finish fan-outs a restart interrupted, send digests missed while down."""
    await context.bot_data.scheduler.run_due(resume=True)
