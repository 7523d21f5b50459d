"""The command table: one row per command, from which handler registration, the Telegram
command menus (registered here) and /help all come."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import Application

from briefbot.bot import i18n
from briefbot.bot.context import BotData, BriefbotContext
from briefbot.bot.handlers import feeds, library, manage, reading, settings, topics
from briefbot.bot.i18n import N_, _

logger = logging.getLogger(__name__)
App = Application[Any, Any, Any, Any, BotData, Any]


class Who(Enum):
    ANYONE = "anyone"  # some settings are changed only by a group's admins (see the handler)
    BOT_ADMINS = "bot admins"


Callback = Callable[[Update, BriefbotContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    callback: Callback
    who: Who
    menu: str  # the command menu's line
    help: str  # /help's line


def _anyone(name: str, callback: Callback, menu: str, help_text: str = "") -> Command:
    return Command(name, callback, Who.ANYONE, menu, help_text or menu)


def _admins(name: str, callback: Callback, menu: str, help_text: str = "") -> Command:
    return Command(name, callback, Who.BOT_ADMINS, menu, help_text or menu)


# Menu and help texts are message ids (N_): they are translated where they are shown.
COMMANDS: tuple[Command, ...] = (
    _anyone("start", reading.start, N_("Welcome, the digest, and the newest article")),
    _anyone(
        "summary",
        reading.summary,
        N_("Summary of the current article"),
        N_("Summary of the current article; /summary short or /summary long for another length"),
    ),
    _anyone("next", reading.next_article, N_("Next (newer) article with its summary")),
    _anyone("prev", reading.previous_article, N_("Previous (older) article with its summary")),
    _anyone("latest", reading.latest, N_("The 10 newest articles")),
    _anyone(
        "search",
        reading.search,
        N_("Search the articles"),
        N_('Search the articles: /search words, or /search "a phrase"'),
    ),
    _anyone(
        "topics",
        topics.topics_command,
        N_("Topics your digests keep to"),
        N_("Topics: /topics add WORDS, /topics mute WORDS, /topics remove N, /topics only on"),
    ),
    _anyone(
        "length",
        settings.length_command,
        N_("Summary length: short, standard or long"),
        N_("Summary length for this chat: /length short, standard or long"),
    ),
    _anyone(
        "digest",
        settings.digest,
        N_("Digest time and zone, or off"),
        N_("Digest time and zone: /digest 07:30 Europe/Berlin, /digest weekdays, /digest off"),
    ),
    _anyone("subscribe", settings.subscribe, N_("Get the morning digest in this chat")),
    _anyone("unsubscribe", settings.unsubscribe, N_("Stop the morning digest in this chat")),
    _anyone(
        "language",
        settings.language_command,
        N_("The bot's language in this chat"),
        N_("The bot's language in this chat: /language de, /language auto"),
    ),
    _anyone("help", reading.help_command, N_("What I can do")),
    _admins("add", library.add_command, N_("Add an article: /add Title, then the text")),
    _admins(
        "feed", feeds.feed, N_("Feeds: /feed add URL, /feed list, /feed remove N, /feed export")
    ),
    _admins("articles", manage.articles, N_("The library, page by page")),
    _admins("delete", manage.delete, N_("Delete an article: /delete ID")),
    _admins("edit", manage.edit, N_("Change a title: /edit ID New title")),
    _admins("admins", manage.admins, N_("Who the bot's admins are")),
    _admins("stats", manage.stats, N_("Library, chats and the last digest run")),
)


@dataclass(frozen=True, slots=True)
class CommandTable:
    commands: tuple[Command, ...] = COMMANDS

    def for_admins(self) -> list[Command]:
        return [c for c in self.commands if c.who is Who.BOT_ADMINS]

    def menu(self, *, admin: bool) -> list[BotCommand]:
        """The command menu in the current language."""
        return [
            BotCommand(c.name, _(c.menu))
            for c in self.commands
            if admin or c.who is not Who.BOT_ADMINS
        ]

    def help_entries(self, admin: bool) -> list[tuple[str, str]]:
        return [(c.name, _(c.help)) for c in self.commands if admin or c.who is not Who.BOT_ADMINS]

    async def register_menus(self, application: App, admins: set[int] | None = None) -> None:
        """The public menu for everyone, in each language with a catalog (Telegram shows users
        the one for their language_code), and the full one in the private chat of each admin
        who has one with the bot, in that chat's language (Telegram refuses a chat it does not
        know; an admin's first /start registers it). A Bot API that refuses menus, or lacks
        the method, costs a log line, nothing more."""
        bot, services = application.bot, application.bot_data.services
        try:
            if admins is None:
                for locale in i18n.LANGUAGES:
                    with i18n.speaking(locale):
                        await bot.set_my_commands(
                            self.menu(admin=False),
                            scope=BotCommandScopeDefault(),
                            language_code=i18n.telegram_code(locale),
                        )
                admins = set(application.bot_data.admins.ids)
            for admin_id in sorted(admins):
                chat = await services.db.run(services.chats.get, admin_id)
                if chat is None:
                    continue
                try:
                    with i18n.speaking(i18n.locale_for(chat.locale)):
                        menu = self.menu(admin=True)
                    await bot.set_my_commands(menu, scope=BotCommandScopeChat(admin_id))
                except TelegramError as exc:
                    logger.info("No admin command menu for %s: %s", admin_id, exc)
        except TelegramError as exc:
            logger.warning("The command menu was not registered (%s); commands work anyway", exc)

    def register_admin_menu(self, application: App, admin_id: int) -> None:
        """An admin opened a private chat with the bot: their full menu, in the background."""
        task = asyncio.create_task(self.register_menus(application, {admin_id}))
        application.bot_data.tasks.append(task)
