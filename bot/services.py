"""The long-lived objects the handlers share, created once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram.ext import ContextTypes

from briefbot.articles import ArticleStore, TextLimits
from briefbot.bot.config import Settings
from briefbot.bot.quota import UserQuota
from briefbot.models import Summarizer, SummaryService
from briefbot.models.precompute import SummaryPrecomputer

SERVICES_KEY = "briefbot"


@dataclass(slots=True)
class BotServices:
    settings: Settings
    store: ArticleStore
    summaries: SummaryService
    precomputer: SummaryPrecomputer | None = None
    quota: UserQuota = field(default_factory=lambda: UserQuota(0))

    @classmethod
    def create(cls, settings: Settings, summarizer: Summarizer | None = None) -> BotServices:
        """Open the store and load the model; raises StoreError or ModelLoadError."""
        store = ArticleStore.open(
            settings.database_url, TextLimits(max_chars=settings.max_article_chars)
        )
        try:
            if summarizer is None:
                summarizer = settings.load_summarizer()
        except BaseException:
            store.close()
            raise
        summaries = SummaryService(summarizer, store)
        precomputer = (
            SummaryPrecomputer(summaries, store, batch_size=settings.batch_size)
            if settings.precompute
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
        self.store.close()


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.bot_data[SERVICES_KEY]
