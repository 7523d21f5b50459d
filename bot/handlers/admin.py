"""Admin-only views: /stats."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from briefbot.bot import views
from briefbot.bot.handlers.common import is_bot_admin, reply
from briefbot.bot.services import services


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_bot_admin(update, context):
        await reply(update, context, views.NOT_ADMIN_STATS)
        return
    svc = services(context)
    text = views.stats_text(
        svc.store.stats(),
        svc.summaries.model_label,
        svc.store.deliveries.last_run(),
        svc.settings.zone,
    )
    await reply(update, context, text)
