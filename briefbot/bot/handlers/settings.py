"""Each chat's own settings: /length, /language, /subscribe, /unsubscribe and /digest."""

from __future__ import annotations

from datetime import time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from telegram import Update

from briefbot.bot import i18n, views
from briefbot.bot.access import can_manage_chat, chat_managers_only, is_bot_admin
from briefbot.bot.context import BriefbotContext
from briefbot.bot.handlers.reading import parse_length
from briefbot.bot.replies import reply, send, thread_of
from briefbot.bot.turn import chat_length
from briefbot.chats import ChatState, Days
from briefbot.config import parse_hhmm


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def find_zone(text: str) -> str | None:
    """The canonical IANA name for `text` (any letter case), or None."""
    name = _zones_by_lower_name().get(text.strip().lower())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def read_time(text: str) -> time | None:
    try:
        return parse_hhmm(text)
    except ValueError:
        return None


AUTO = ("auto", "default", "reset")


async def language_command(update: Update, context: BriefbotContext) -> None:
    """Show or set the language the bot speaks in the chat."""
    chat = await context.turn.chat()
    if not context.args:
        await reply(update, context, views.language_status(chat))
        return
    word = context.args[0].strip().lower()
    if word in AUTO:
        choice = None
    else:
        choice = i18n.locale_for(word)
        if choice == i18n.DEFAULT and word.replace("-", "_") not in ("en", "en_us", "en_gb"):
            await reply(update, context, views.language_usage(word))
            return
    if not await can_manage_chat(update, context):
        await reply(update, context, views.not_group_admin())
        return
    services = context.services
    changed = await services.db.run(services.chats.set_language, chat.chat_id, choice)
    context.bot_data.intake.chose_language(chat.chat_id, choice)
    if changed is not None:
        i18n.use(i18n.locale_for(changed.locale))
    await reply(update, context, views.language_set(changed or chat))


async def length_command(update: Update, context: BriefbotContext) -> None:
    """Show or set the chat's summary length."""
    chat = await context.turn.chat()
    if not context.args:
        await reply(update, context, views.length_status(chat_length(chat).value))
        return
    length = parse_length(context.args[0])
    if length is None:
        await reply(update, context, views.length_usage(context.args[0]))
        return
    if not await can_manage_chat(update, context):
        await reply(update, context, views.not_group_admin())
        return
    services = context.services
    await services.db.run(services.chats.set_length, chat.chat_id, length.value)
    await reply(update, context, views.length_set(length.value))


async def _set_subscription(update: Update, context: BriefbotContext, on: bool) -> None:
    services, chat = context.services, await context.turn.chat()
    changed = await services.db.run(
        services.chats.set_subscribed, chat.chat_id, on, thread_id=thread_of(update)
    )
    if on:
        await reply(update, context, views.subscribed() if changed else views.already_subscribed())
    else:
        await reply(update, context, views.unsubscribed() if changed else views.not_subscribed())


@chat_managers_only
async def subscribe(update: Update, context: BriefbotContext) -> None:
    await _set_subscription(update, context, True)


@chat_managers_only
async def unsubscribe(update: Update, context: BriefbotContext) -> None:
    await _set_subscription(update, context, False)


def _status(context: BriefbotContext, chat: ChatState) -> str:
    if not chat.subscribed:
        return views.digest_off()
    scheduler = context.bot_data.scheduler
    schedule = scheduler.schedule(chat)
    now = scheduler.clock()
    return views.digest_status(
        views.schedule_text(schedule), schedule.next_send(now), now, schedule.zone
    )


async def digest(update: Update, context: BriefbotContext) -> None:
    """/digest, /digest 07:30 [Zone], /digest weekdays|daily|off, /digest now."""
    chat = await context.turn.chat()
    args = [a for a in (context.args or []) if a.strip()]
    if not args:
        await reply(update, context, _status(context, chat))
        return
    word = args[0].lower()
    if word == "now":
        await _send_now(update, context, chat)
        return
    if not await can_manage_chat(update, context):
        await reply(update, context, views.not_group_admin())
        return
    services = context.services
    if word == "off":
        await services.db.run(services.chats.set_subscribed, chat.chat_id, False)
        await reply(update, context, views.digest_off())
        return
    changes: dict[str, str] = {}
    if word in (Days.DAILY, Days.WEEKDAYS) and len(args) == 1:
        changes["days"] = word
    else:
        at = read_time(args[0])
        rest = args[1:] if at is not None else args
        if at is None and any(character.isdigit() for character in args[0]):
            await reply(update, context, views.bad_digest_time(args[0]))
            return
        if len(rest) > 1:
            await reply(update, context, views.digest_usage())
            return
        if at is not None:
            changes["digest_time"] = f"{at:%H:%M}"
        if rest:
            zone = find_zone(rest[0])
            if zone is None:
                await reply(update, context, views.unknown_zone(rest[0]))
                return
            changes["timezone"] = zone
    updated = await services.db.run(
        services.chats.set_schedule,
        chat.chat_id,
        thread_id=thread_of(update),
        now=context.bot_data.scheduler.clock(),
        **changes,
    )
    await reply(update, context, _status(context, updated or chat))


async def _send_now(update: Update, context: BriefbotContext, chat: ChatState) -> None:
    """A preview of this chat's digest, for bot admins; it changes nothing."""
    if not is_bot_admin(update, context):
        await reply(update, context, views.not_admin())
        return
    for message in await context.bot_data.scheduler.preview(chat):
        await send(context, chat.chat_id, message.text, message.keyboard, thread_of(update))
