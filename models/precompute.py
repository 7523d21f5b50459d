"""Background summarization: every stored article gets its summaries before anyone asks.

The queue is the database itself: an article whose summary is missing for the active model is
pending, and so is a summary a reader asked for on an instance that runs no model. So the work
survives restarts, articles imported while the bot was down are picked up at start-up, and
several instances (or `briefbot worker`s) share it through the summary jobs table. Failed
summaries carry their reason there and are retried later, a few times at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
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
        self.done = 0
        self.failed = 0

    def notify(self) -> None:
        """An article was stored: look for work now rather than at the next idle check."""
        self._wake.set()

    def _requested(self) -> dict[SummaryLength, list[int]]:
        by_length: dict[SummaryLength, list[int]] = defaultdict(list)
        for article_id, length in self.service.jobs.queued(
            self.service.model_name, self.batch_size
        ):
            with contextlib.suppress(ValueError):
                by_length[SummaryLength(length)].append(article_id)
        return by_length

    async def run_once(self) -> int:
        """Summarize what readers asked for, then one batch per length; returns how many
        summaries were made."""
        made = 0
        gave_up = self.service.jobs.crashed_too_often()
        if gave_up:
            logger.error("%d summaries stopped the summarizer too often; marked failed", gave_up)
        batches: list[tuple[SummaryLength, list]] = [
            (length, self.store.get_many(ids)) for length, ids in self._requested().items()
        ]
        model = self.service.model_name
        for article_id, length in self.service.jobs.interrupted(model, self.batch_size):
            with contextlib.suppress(ValueError):
                batches.insert(0, (SummaryLength(length), self.store.get_many([article_id])))
        for length in self.lengths:
            pending = self.service.jobs.to_summarize(model, length.value, self.batch_size)
            batches.append((length, self.store.get_many(pending)))
        for length, articles in batches:
            # Readers first: a batch started now would make their summary wait behind it.
            await self.service.readers_served()
            # Only what is not cached counts as work (a request may be answered already).
            pending = [a for a in articles if self.service.cached(a, length) is None]
            done = [self.service.key(a, length) for a in articles if a not in pending]
            if done:
                self.service.jobs.forget_requests(done)
            if not pending:
                continue
            results = await self.service.summaries_for(pending, length)
            for article in pending:
                outcome = results.get(article.id)
                if isinstance(outcome, str):
                    made += 1
                elif outcome is not None:
                    self.failed += 1
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
                await asyncio.sleep(0)  # let the loop breathe between batches
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
