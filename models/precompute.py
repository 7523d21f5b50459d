"""Background summarization: every stored article gets its summaries before anyone asks.

The queue is the database itself: an article whose summary is missing for the active model is
pending. So the work survives restarts with no job table, and articles imported while the bot
was down are picked up at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from briefbot.articles import ArticleStore
from briefbot.models.base import SummaryLength
from briefbot.models.service import SummaryService

logger = logging.getLogger(__name__)


class SummaryPrecomputer:
    def __init__(
        self,
        service: SummaryService,
        store: ArticleStore,
        lengths: Sequence[SummaryLength] = (SummaryLength.STANDARD, SummaryLength.SHORT),
        *,
        batch_size: int = 8,
        idle_seconds: float = 60.0,
    ) -> None:
        self.service = service
        self.store = store
        self.lengths = tuple(lengths)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._failed: set[tuple[int, SummaryLength]] = set()
        self.done = 0

    def notify(self) -> None:
        """An article was stored: look for work now rather than at the next idle check."""
        self._wake.set()

    async def run_once(self) -> int:
        """Summarize one batch per length; returns how many summaries were made."""
        made = 0
        for length in self.lengths:
            pending = [
                article
                for article in self.store.articles_missing_summary(
                    self.service.model_name, length.value, self.batch_size + len(self._failed)
                )
                if (article.id, length) not in self._failed
            ][: self.batch_size]
            if not pending:
                continue
            results = await self.service.summaries_for(pending, length)
            for article in pending:
                if results.get(article.id) is None:
                    # Not retried in this process; a restart tries again.
                    self._failed.add((article.id, length))
                    logger.warning("No %s summary for article %d", length.value, article.id)
                else:
                    made += 1
        self.done += made
        return made

    async def run_forever(self) -> None:
        while True:
            try:
                made = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Background summarization failed; retrying later")
                made = 0
            if made:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
