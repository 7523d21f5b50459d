"""/digest: each chat's own digest time, zone and days; /digest now for admins."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update
from telegram.ext import ContextTypes

from briefbot.articles import ChatState
from briefbot.bot import views
from briefbot.bot.digest.schedule import Days
from briefbot.bot.digest.scheduler import DigestScheduler
from briefbot.bot.handlers.common import can_manage_chat, chat_state, is_bot_admin, reply
from briefbot.bot.services import services
from briefbot.bot.timezones import find_zone, read_time

SCHEDULER_KEY = "digest_scheduler"


def scheduler(context: ContextTypes.DEFAULT_TYPE) -> DigestScheduler:
    return context.bot_data[SCHEDULER_KEY]


def _status(context: ContextTypes.DEFAULT_TYPE, chat: ChatState) -> str:
    if not chat.subscribed:
        return views.DIGEST_OFF
    digest = scheduler(context)
    schedule = digest.schedule(chat)
    now = digest.clock()
    return views.digest_status(schedule.describe(), schedule.next_send(now), now, schedule.zone)


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = chat_state(update, context)
    args = [a for a in (context.args or []) if a.strip()]
    if not args:
        await reply(update, context, _status(context, chat))
        return
    word = args[0].lower()
    if word == "now":
        await _send_now(update, context, chat)
        return
    if not await can_manage_chat(update, context):
        await reply(update, context, views.NOT_GROUP_ADMIN)
        return
    store = services(context).store
    now = scheduler(context).clock().astimezone(UTC)
    if word == "off":
        store.set_subscribed(chat.chat_id, False)
        await reply(update, context, views.DIGEST_OFF)
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
            await reply(update, context, views.DIGEST_USAGE)
            return
        if at is not None:
            changes["digest_time"] = f"{at:%H:%M}"
        if rest:
            zone = find_zone(rest[0])
            if zone is None:
                await reply(update, context, views.unknown_zone(rest[0]))
                return
            changes["timezone"] = zone
    updated = store.set_digest_schedule(chat.chat_id, now=_aware(now), **changes)
    assert updated is not None
    await reply(update, context, _status(context, updated))


async def _send_now(update: Update, context: ContextTypes.DEFAULT_TYPE, chat: ChatState) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN_DIGEST)
        return
    for message in await scheduler(context).preview(chat):
        await context.bot.send_message(chat.chat_id, message.text, reply_markup=message.keyboard)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
