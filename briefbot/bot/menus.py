"""The Telegram command menus: the public one for everyone, the full one for each admin."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import Application

from briefbot.bot.context import BotData

logger = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, BotData, Any]


async def register_menus(application: App, admins: set[int] | None = None) -> None:
    """The public menu for everyone, and the full one in the private chat of each admin who
    has one with the bot (Telegram refuses a chat it does not know; an admin's first /start
    registers it). A Bot API that refuses menus, or lacks the method, costs a log line."""
    data, bot, services = application.bot_data, application.bot, application.bot_data.services
    try:
        if admins is None:
            await bot.set_my_commands(
                data.commands.menu(admin=False), scope=BotCommandScopeDefault()
            )
            admins = set(data.admins.ids)
        for admin_id in sorted(admins):
            if await services.db.run(services.chats.get, admin_id) is None:
                continue
            try:
                await bot.set_my_commands(
                    data.commands.menu(admin=True), scope=BotCommandScopeChat(admin_id)
                )
            except TelegramError as exc:
                logger.info("No admin command menu for %s: %s", admin_id, exc)
    except TelegramError as exc:
        logger.warning("The command menu was not registered (%s); commands work all the same", exc)


def register_admin_menu(application: App, admin_id: int) -> None:
    """An admin opened a private chat with the bot: their full menu, in the background."""
    task = asyncio.create_task(register_menus(application, {admin_id}))
    application.bot_data.tasks.append(task)
