"""A JobQueue that lets a running digest fan-out hand its work back at shutdown."""

from __future__ import annotations

from typing import Any

from telegram.ext import JobQueue

from briefbot.bot.handlers.digest import SCHEDULER_KEY


class BriefbotJobQueue(JobQueue[Any]):
    __slots__ = ()

    async def stop(self, wait: bool = True) -> None:
        # JobQueue.stop waits for running jobs, and a fan-out to many chats can take minutes.
        # Tell it to start no more chats first; what is left is resumed at the next start.
        try:
            scheduler = self.application.bot_data.get(SCHEDULER_KEY)
        except RuntimeError:
            scheduler = None
        if scheduler is not None:
            scheduler.stop()
        await super().stop(wait)
