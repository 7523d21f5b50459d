"""The long-lived objects the handlers share, created once per process."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from telegram.ext import ContextTypes

from briefbot.articles import ArticleStore, StoreError, TextLimits
from briefbot.bot.config import Settings
from briefbot.bot.quota import UserQuota
from briefbot.models import Summarizer, SummaryService
from briefbot.models.precompute import SummaryPrecomputer

logger = logging.getLogger(__name__)

SERVICES_KEY = "briefbot"


@dataclass(slots=True)
class BotServices:
    settings: Settings
    store: ArticleStore
    summaries: SummaryService
    precomputer: SummaryPrecomputer | None = None
    quota: UserQuota = field(default_factory=lambda: UserQuota(0))

    @classmethod
    def create(
        cls, settings: Settings, summarizer: Summarizer | None = None, *, role: str = "bot"
    ) -> BotServices:
        """Open the store, load the model (unless a worker runs it) and register this
        instance; raises StoreError or ModelLoadError."""
        store = ArticleStore.open(
            settings.database_url, TextLimits(max_chars=settings.max_article_chars)
        )
        runs_model = role == "worker" or settings.summarizer == "local"
        try:
            if summarizer is None and runs_model:
                summarizer = settings.load_summarizer()
            store.instances.role = role
            store.instances.lease = timedelta(seconds=settings.instance_lease_seconds)
            store.instances.model = summarizer.name if runs_model and summarizer else None
            store.instances.register()
        except BaseException:
            store.close()
            raise
        summaries = SummaryService(
            summarizer if runs_model else None,
            store,
            wait_seconds=settings.summary_wait_seconds,
        )
        precomputer = (
            SummaryPrecomputer(summaries, store, batch_size=settings.batch_size)
            if runs_model and (settings.precompute or role == "worker")
            else None
        )
        return cls(
            settings, store, summaries, precomputer, UserQuota(settings.user_summaries_per_minute)
        )

    def article_added(self) -> None:
        if self.precomputer is not None:
            self.precomputer.notify()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admins

    def close(self) -> None:
        self.summaries.close()
        try:
            self.store.instances.unregister()
        except StoreError as exc:
            logger.warning("Could not unregister this instance: %s", exc)
        self.store.close()


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.bot_data[SERVICES_KEY]
