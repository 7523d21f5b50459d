"""Application wiring: builder, handler registration and life-cycle hooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from briefbot.articles import StoreError
from briefbot.articles.importer import load_samples_if_empty
from briefbot.bot.callbacks import CALLBACK_PATTERN
from briefbot.bot.commands import COMMANDS, PUBLIC_COMMANDS, CommandInfo
from briefbot.bot.digest.delivery import mark_digest_part_sent
from briefbot.bot.digest.scheduler import DigestScheduler
from briefbot.bot.handlers import (
    admin,
    digest,
    errors,
    fallback,
    feeds,
    library,
    manage,
    reading,
    subscription,
)
from briefbot.bot.inbox import InboxBot, PerChatUpdateProcessor
from briefbot.bot.jobqueue import BriefbotJobQueue
from briefbot.bot.ratelimit import TelegramRateLimiter
from briefbot.bot.services import SERVICES_KEY, BotServices

logger = logging.getLogger(__name__)

NEW_MESSAGES = filters.UpdateType.MESSAGE


def file_url_for(api_url: str) -> str:
    """Telegram serves files from .../file/bot<token>/ next to .../bot<token>/."""
    if api_url.endswith("/bot"):
        return api_url[: -len("/bot")] + "/file/bot"
    return api_url.rstrip("/") + "/file/bot"


def _menu(commands: tuple[CommandInfo, ...]) -> list[BotCommand]:
    return [BotCommand(c.name, c.description) for c in commands]


DIGEST_TICK_SECONDS = 60
PRECOMPUTE_TASK_KEY = "precompute_task"
SCHEDULE_DIGESTS_KEY = "schedule_digests"
PRUNED_KEY = "inbox_pruned_at"
PRUNE_SECONDS = 3600.0


async def _digest_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    scheduler: DigestScheduler = context.bot_data[digest.SCHEDULER_KEY]
    if scheduler.busy:
        logger.info("A digest fan-out is still running; this minute's check waits for it")
        return
    await scheduler.run_due()


async def _digest_catch_up(context: ContextTypes.DEFAULT_TYPE) -> None:
    # Finishes fan-outs interrupted by a restart and sends digests missed while down.
    scheduler: DigestScheduler = context.bot_data[digest.SCHEDULER_KEY]
    await scheduler.run_due(resume=True)


def replay_pending_updates(application: Application, min_age: timedelta = timedelta(0)) -> int:
    """Queue the stored updates nobody finished: ones this instance stored before a restart,
    and ones a stopped instance left behind. Handling claims each once."""
    svc: BotServices = application.bot_data[SERVICES_KEY]
    inbox = svc.store.inbox
    inbox.give_up_on_crashers()
    pending = inbox.pending(min_age)
    for payload in pending:
        application.update_queue.put_nowait(Update.de_json(payload, application.bot))
    if pending:
        logger.info("Replaying %d stored updates that were not handled", len(pending))
    return len(pending)


async def _coordinate(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Heartbeat, and take over what stopped instances left: updates and digest fan-outs."""
    application = context.application
    svc: BotServices = application.bot_data[SERVICES_KEY]
    try:
        svc.store.instances.heartbeat()
        replay_pending_updates(application, svc.store.instances.lease)
        scheduler: DigestScheduler | None = application.bot_data.get(digest.SCHEDULER_KEY)
        if (
            scheduler is not None
            and not scheduler.busy
            and svc.store.deliveries.orphaned_count()
            and application.bot_data.get(SCHEDULE_DIGESTS_KEY, True)
        ):
            application.create_task(scheduler.run_due(resume=True), name="digest-takeover")
        if time.monotonic() - application.bot_data.get(PRUNED_KEY, 0.0) > PRUNE_SECONDS:
            application.bot_data[PRUNED_KEY] = time.monotonic()
            svc.store.inbox.prune()
    except StoreError as exc:
        logger.error("Coordination skipped this round: %s", exc)


def _start_coordination(application: Application) -> None:
    job_queue = application.job_queue
    assert job_queue is not None, "python-telegram-bot[job-queue] is required"
    svc: BotServices = application.bot_data[SERVICES_KEY]
    interval = max(1.0, svc.store.instances.lease.total_seconds() / 3)
    job_queue.run_repeating(_coordinate, interval=interval, first=interval, name="coordinate")


def _start_digest_jobs(application: Application) -> None:
    job_queue = application.job_queue
    assert job_queue is not None, "python-telegram-bot[job-queue] is required"
    now = time.time()
    to_next_minute = DIGEST_TICK_SECONDS - now % DIGEST_TICK_SECONDS
    job_queue.run_once(_digest_catch_up, when=0, name="digest-catch-up")
    job_queue.run_repeating(
        _digest_tick, interval=DIGEST_TICK_SECONDS, first=to_next_minute, name="digest-tick"
    )
    interval = application.bot_data[SERVICES_KEY].settings.feed_interval_minutes * 60
    job_queue.run_repeating(feeds.poll_all, interval=interval, first=interval, name="feeds")


async def post_init(application: Application) -> None:
    svc: BotServices = application.bot_data[SERVICES_KEY]
    if svc.settings.load_samples:
        load_samples_if_empty(svc.store)
    application.bot_data[digest.SCHEDULER_KEY] = DigestScheduler(svc, application.bot)
    replay_pending_updates(application)
    _start_coordination(application)
    if svc.precomputer is not None:
        application.bot_data[PRECOMPUTE_TASK_KEY] = asyncio.create_task(
            svc.precomputer.run_forever(), name="precompute"
        )
    if application.bot_data.get(SCHEDULE_DIGESTS_KEY, True):
        _start_digest_jobs(application)
    bot = application.bot
    await bot.set_my_commands(_menu(PUBLIC_COMMANDS), scope=BotCommandScopeDefault())
    for admin_id in sorted(svc.settings.admins):
        try:
            await bot.set_my_commands(_menu(COMMANDS), scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:
            # Telegram refuses chat scopes for users who never opened the bot.
            logger.info("No admin command menu for %s yet: %s", admin_id, exc)
    logger.info(
        "Briefbot @%s ready: %d articles, model %s",
        bot.username,
        svc.store.count(),
        svc.summaries.model_label,
    )


async def post_stop(application: Application) -> None:
    task = application.bot_data.pop(PRECOMPUTE_TASK_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def post_shutdown(application: Application) -> None:
    scheduler: DigestScheduler | None = application.bot_data.get(digest.SCHEDULER_KEY)
    if scheduler is not None:
        scheduler.close()
    svc: BotServices = application.bot_data[SERVICES_KEY]
    svc.close()


def register_handlers(application: Application) -> None:
    # Order matters: the first matching handler in a group wins.
    command_handlers = {
        "start": reading.start,
        "help": reading.help_command,
        "summary": reading.summary,
        "next": reading.next_article,
        "prev": reading.previous_article,
        "latest": reading.latest,
        "length": reading.length_command,
        "digest": digest.digest,
        "stats": admin.stats,
        "subscribe": subscription.subscribe,
        "unsubscribe": subscription.unsubscribe,
        "add": library.add_command,
        "feed": feeds.feed,
        "articles": manage.articles,
        "delete": manage.delete,
        "edit": manage.edit,
        "admins": manage.admins,
    }
    for name, callback in command_handlers.items():
        application.add_handler(CommandHandler(name, callback, filters=NEW_MESSAGES))
    application.add_handler(CallbackQueryHandler(reading.button, pattern=CALLBACK_PATTERN))
    application.add_handler(CallbackQueryHandler(reading.button))  # foreign or stale data
    application.add_handler(
        MessageHandler(NEW_MESSAGES & filters.COMMAND, fallback.unknown_command)
    )
    application.add_handler(
        MessageHandler(
            NEW_MESSAGES & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
            library.private_text,
        )
    )
    application.add_handler(
        MessageHandler(
            NEW_MESSAGES & filters.ChatType.PRIVATE & filters.Document.ALL, library.document
        )
    )
    application.add_handler(
        MessageHandler(
            NEW_MESSAGES & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL,
            fallback.other_private_message,
        )
    )
    application.add_error_handler(errors.on_error)


def build_application(
    services: BotServices,
    *,
    request: BaseRequest | None = None,
    polling: bool = True,
    schedule_digests: bool = True,
) -> Application:
    """The Application with every handler; `request` replaces HTTP (used by the console)."""
    settings = services.settings
    if request is None:
        timeout = settings.request_timeout
        request = HTTPXRequest(
            connection_pool_size=128,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
            httpx_kwargs={"event_hooks": {"request": [mark_digest_part_sent]}},
        )
        rate_limiter: TelegramRateLimiter | None = TelegramRateLimiter(settings.send_rate)
    else:
        rate_limiter = None
    bot = InboxBot(
        token=settings.require_token(),
        base_url=settings.api_url,
        base_file_url=settings.file_url or file_url_for(settings.api_url),
        request=request,
        get_updates_request=request,
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            tzinfo=settings.zone,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        rate_limiter=rate_limiter,
        inbox=services.store.inbox,
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor(inbox=services.store.inbox))
        .job_queue(BriefbotJobQueue())
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data[SERVICES_KEY] = services
    application.bot_data[SCHEDULE_DIGESTS_KEY] = schedule_digests
    register_handlers(application)
    return application


def serve(application: Application, **polling: Any) -> None:
    """Long polling until stopped; updates that arrived while the bot was down are kept."""
    application.run_polling(
        allowed_updates=Update.ALL_TYPES, drop_pending_updates=False, **polling
    )
