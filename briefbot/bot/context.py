"""The typed context handlers and jobs get: `context.bot_data` and the update's `Turn`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from telegram import Message, Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from briefbot.bot import i18n
from briefbot.bot.turn import Turn

if TYPE_CHECKING:
    from briefbot.bot.access import AdminAccess
    from briefbot.bot.commands import CommandTable
    from briefbot.bot.digest.scheduler import DigestScheduler
    from briefbot.bot.ratelimit import UserQuota
    from briefbot.bot.replies import ShownCards
    from briefbot.bot.updates import ButtonAnswers, Intake
    from briefbot.services import Services


class BotData:
    """What every handler and job shares; build_application fills it in."""

    services: Services
    commands: CommandTable
    admins: AdminAccess
    answers: ButtonAnswers
    intake: Intake
    shown: ShownCards
    quota: UserQuota
    scheduler: DigestScheduler

    def __init__(self) -> None:
        self.schedule_digests = True
        self.pruned_at = 0.0
        self.tasks: list[asyncio.Task[Any]] = []


class BriefbotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._turn: Turn | None = None
        # A message that showed a summary as it was written: the card goes on it.
        self.live_message: Message | None = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> BriefbotContext:
        context = super().from_update(update, application)
        if isinstance(update, Update):
            context._turn = Turn(context.bot_data.services, update)
            # The chat's choice (/language), else the user's language (a private chat, or inline).
            chat, user = update.effective_chat, update.effective_user
            personal = chat is None or chat.type == "private"  # inline queries have no chat
            chosen = context.bot_data.intake.language_of(chat.id) if chat else None
            own = user.language_code if user and personal else None
            i18n.use(i18n.locale_for(chosen or own))
        return context

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def turn(self) -> Turn:
        if self._turn is None:
            raise RuntimeError("this context belongs to no update")
        return self._turn


CONTEXT_TYPES = ContextTypes(context=BriefbotContext, bot_data=BotData)
