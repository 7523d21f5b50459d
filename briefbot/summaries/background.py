"""Background summarization: every stored article gets its summaries before anyone asks.

The queue is the database itself: an article whose summary is missing for the active model is
pending, and so is a summary a reader asked for on an instance that runs no model. So the work
survives restarts, articles imported while the bot was down are picked up at start-up, and
several instances (or `briefbot worker`s) share it through the summary jobs table. Failed
summaries carry their reason there and are tried again later, a few times at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence

from briefbot.articles import Article
from briefbot.articles.meaning import EncoderUnavailable, Meanings
from briefbot.coordination import JobKey
from briefbot.models import ModelOwner, SummaryLength
from briefbot.summaries.service import SummaryService, parse_form, summary_form

logger = logging.getLogger(__name__)

DEFAULT_LENGTHS = (SummaryLength.STANDARD, SummaryLength.SHORT)


class BackgroundSummaries:
    def __init__(
        self,
        service: SummaryService,
        owner: ModelOwner,
        lengths: Sequence[SummaryLength] = DEFAULT_LENGTHS,
        *,
        batch_size: int = 8,
        idle_seconds: float = 60.0,
        meanings: Meanings | None = None,
    ) -> None:
        self.service = service
        self.owner = owner
        self.lengths = tuple(lengths)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.meanings = meanings
        self._wake = asyncio.Event()
        self.done = 0
        self.failed = 0

    def notify(self) -> None:
        """An article was stored: look for work now, not at the next idle check."""
        self._wake.set()

    def _batches(self) -> list[tuple[str, list[Article]]]:
        """What to summarize next, most urgent first: summaries interrupted by a crash (one
        at a time, so an article that kills the process is found), those readers asked for,
        then one batch per length of articles without one. Summaries made meanwhile are left
        out, and their jobs dropped. Each batch is of one summary form ('standard:ru')."""
        jobs, library, model = self.service.jobs, self.service.library, self.owner.name
        crashed = jobs.crashed_too_often()
        if crashed:
            logger.error("%d summaries stopped the summarizer too often; marked failed", crashed)
        wanted: list[tuple[str, list[int]]] = []
        requested: dict[str, list[int]] = defaultdict(list)
        for article_id, form, interrupted in jobs.waiting(model, self.batch_size):
            with contextlib.suppress(ValueError):
                parse_form(form)
                if interrupted:
                    wanted.append((form, [article_id]))
                else:
                    requested[form].append(article_id)
        wanted.extend(requested.items())
        for length in self.lengths:
            busy = jobs.busy(model, length.value)
            ids = library.without_summary(model, length, self.batch_size, busy)
            wanted.append((summary_form(length), ids))
        batches = []
        for form, ids in wanted:
            todo: list[Article] = []
            done: list[JobKey] = []
            for article in library.get_many(ids):
                key = JobKey(article.content_hash, model, form)
                if library.summary(key.content_hash, key.model, key.form) is None:
                    todo.append(article)
                else:
                    done.append(key)
            jobs.forget(done)
            if todo:
                batches.append((form, todo))
        return batches

    async def run_once(self) -> int:
        """One round of work; returns how many summaries were made."""
        made = 0
        for form, articles in await self.service.db.run(self._batches):
            await self.owner.readers_served()  # readers first
            length, language = parse_form(form)
            results = await self.service.summaries_for(articles, length, language=language)
            for article in articles:
                outcome = results.get(article.id)
                if isinstance(outcome, str):
                    made += 1
                elif outcome is not None:
                    self.failed += 1
        self.done += made
        if not made and self.meanings is not None:
            made = await self._fill_vectors(self.meanings)
        return made

    async def _fill_vectors(self, meanings: Meanings) -> int:
        """With no summary to make, a batch of articles' vectors (briefbot.articles.meaning):
        they go after every summary, and after readers."""
        await self.owner.readers_served()
        try:
            return await asyncio.to_thread(meanings.fill)
        except EncoderUnavailable as exc:
            logger.error("Article vectors not made: %s", exc)
            self.meanings = None
            return 0

    async def run_forever(self) -> None:
        while True:
            # Cleared before the round, so an article stored during it wakes the next one.
            self._wake.clear()
            try:
                made = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Background summarization failed; trying again later")
                made = 0
            if made:
                await asyncio.sleep(0)  # let the loop breathe between batches
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
