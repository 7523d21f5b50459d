"""SummaryService: the summary of a stored article, from the cache or made exactly once.

A summary is cached per (article content, model with its settings, length). One that is not
cached yet is claimed in the summary jobs table and made by the model this process owns, so
two instances never make the same summary, and one made elsewhere is awaited, not made again.
A process that owns no model (BRIEFBOT_SUMMARIZER=worker) asks for it through the same table
and waits for `briefbot worker` to make it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from briefbot.articles import Article, Library
from briefbot.coordination import Instances, JobKey, SummaryFailure, SummaryJobs
from briefbot.database import Database, utcnow
from briefbot.models import Document, ModelOwner, SummaryLength

logger = logging.getLogger(__name__)

# A summary, a recorded failure, or None: being made elsewhere (or asked of a worker).
SummaryOutcome = str | SummaryFailure | None


class SummaryUnavailable(RuntimeError):
    """No summary can be had now; the message is safe to show to a reader."""


class SummaryFailed(SummaryUnavailable):
    """The model failed on this article; recorded with the reason and a retry time."""

    def __init__(self, failure: SummaryFailure) -> None:
        super().__init__(f"the summarizer failed on this article: {failure.reason}")
        self.failure = failure


class SummaryService:
    def __init__(
        self,
        db: Database,
        library: Library,
        jobs: SummaryJobs,
        instances: Instances,
        owner: ModelOwner | None,
        *,
        wait_seconds: float = 30.0,
        poll_seconds: float = 0.25,
    ) -> None:
        self.db = db
        self.library = library
        self.jobs = jobs
        self.instances = instances
        self.owner = owner
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._served_model: str | None = None
        self._making: dict[tuple[str, SummaryLength], asyncio.Future[str]] = {}

    async def model_name(self) -> str:
        """The cache key of the model summaries come from; raises SummaryUnavailable when no
        model runs anywhere yet."""
        if self.owner is not None:
            return self.owner.name
        if self._served_model is None:
            self._served_model = await self.db.run(self.instances.served_model)
        if self._served_model is None:
            raise SummaryUnavailable("no summarizer is running (start `briefbot worker`)")
        return self._served_model

    @property
    def label(self) -> str:
        if self.owner is not None:
            return self.owner.label
        return self._served_model or "none yet (waiting for a worker)"

    async def cached(self, article: Article, length: SummaryLength) -> str | None:
        try:
            model = await self.model_name()
        except SummaryUnavailable:
            return None
        return await self.db.run(self.library.summary, article.content_hash, model, length)

    async def summary_for(self, article: Article, length: SummaryLength) -> str:
        """The summary for a reader; raises SummaryFailed for a recorded failure and
        SummaryUnavailable when it cannot be had now."""
        key = JobKey(article.content_hash, await self.model_name(), length.value)
        made_here = (article.content_hash, length)
        pending = self._making.get(made_here)
        if pending is not None:  # another reader asked for the same summary a moment ago
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._making[made_here] = future
        try:
            summary = await self._summary_for(article, length, key)
        except Exception as exc:
            error = exc if isinstance(exc, SummaryUnavailable) else None
            if error is None:
                logger.exception("Summarizing article %d failed", article.id)
                error = SummaryUnavailable("the summary could not be made right now")
            future.set_exception(error)
            future.exception()  # retrieved: nobody else may be waiting
            raise error from (None if error is exc else exc)
        else:
            future.set_result(summary)
            return summary
        finally:
            del self._making[made_here]

    async def _summary_for(self, article: Article, length: SummaryLength, key: JobKey) -> str:
        cached = await self.db.run(self.library.summary, key.content_hash, key.model, key.length)
        if cached is not None:
            return cached
        failure = await self.db.run(self.jobs.failure, key)
        if failure is not None and (failure.retry_at is None or failure.retry_at > utcnow()):
            raise SummaryFailed(failure)
        if self.owner is None:
            await self.db.run(self.jobs.request, key, article.id)
            return await self._wait_for(key)
        outcome = (await self._make([article], length, reader=True))[article.id]
        if isinstance(outcome, SummaryFailure):
            raise SummaryFailed(outcome)
        if outcome is None:
            return await self._wait_for(key)
        return outcome

    async def _wait_for(self, key: JobKey) -> str:
        """Wait for a summary being made elsewhere (another instance or a worker)."""
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(self.poll_seconds)
            summary, failure = await self.db.run(self._settled, key)
            if summary is not None:
                return summary
            if failure is not None:
                raise SummaryFailed(failure)
        raise SummaryUnavailable("the summary is still being prepared")

    def _settled(self, key: JobKey) -> tuple[str | None, SummaryFailure | None]:
        with self.db.transaction() as session:
            summary = self.library.summary(key.content_hash, key.model, key.length, session)
            return summary, None if summary is not None else self.jobs.failure(key, session)

    async def summaries_for(
        self, articles: Sequence[Article], length: SummaryLength, *, retry_failed: bool = False
    ) -> dict[int, SummaryOutcome]:
        """Many summaries: cached ones are read, the rest made in one batched model call.

        Each article maps to its summary, to its SummaryFailure, or to None when another
        instance is making it (or, without a model, a worker has been asked for it).
        """
        try:
            model = await self.model_name()
        except SummaryUnavailable:  # no model runs anywhere yet: nothing to read or ask for
            return dict.fromkeys((a.id for a in articles), None)
        keys = {a.id: JobKey(a.content_hash, model, length.value) for a in articles}
        cached = await self.db.run(self._cached_many, list(keys.values()))
        result: dict[int, SummaryOutcome] = {}
        missing = []
        for article in articles:
            summary = cached.get(keys[article.id])
            if summary is None:
                missing.append(article)
            else:
                result[article.id] = summary
        if not missing:
            return result
        if self.owner is None:
            for article in missing:
                await self.db.run(self.jobs.request, keys[article.id], article.id)
                result[article.id] = None
            return result
        result.update(await self._make(missing, length, retry_failed=retry_failed))
        return result

    def _cached_many(self, keys: list[JobKey]) -> dict[JobKey, str]:
        with self.db.transaction() as session:
            found = {}
            for key in keys:
                summary = self.library.summary(key.content_hash, key.model, key.length, session)
                if summary is not None:
                    found[key] = summary
            return found

    async def _make(
        self,
        articles: Sequence[Article],
        length: SummaryLength,
        *,
        retry_failed: bool = False,
        reader: bool = False,
    ) -> dict[int, SummaryOutcome]:
        """Claim the summaries, make the ones this instance won, report the rest as they
        stand (cached by now, failed, or None: someone else is making them)."""
        if self.owner is None:
            raise SummaryUnavailable("this instance runs no model")
        model = self.owner.name
        keys = {a.id: JobKey(a.content_hash, model, length.value) for a in articles}
        owned = await self.db.run(
            self.jobs.claim, [(keys[a.id], a.id) for a in articles], retry_failed=retry_failed
        )
        result: dict[int, SummaryOutcome] = {}
        mine = []
        for article in articles:
            key = keys[article.id]
            if key in owned:
                mine.append(article)
            else:
                summary, failure = await self.db.run(self._settled, key)
                result[article.id] = summary if summary is not None else failure
        if mine:
            result.update(await self._run_model(self.owner, mine, length, keys, reader))
        return result

    async def _run_model(
        self,
        owner: ModelOwner,
        articles: Sequence[Article],
        length: SummaryLength,
        keys: dict[int, JobKey],
        reader: bool,
    ) -> dict[int, SummaryOutcome]:
        started = time.perf_counter()
        documents = [Document(text=a.text, title=a.title) for a in articles]
        try:
            summaries = await owner.summarize(documents, length, reader=reader)
        except Exception as exc:
            if len(articles) > 1:
                # Find the article that breaks the batch; the others still get summaries.
                logger.warning("A batch of %d failed (%s); one by one", len(articles), exc)
                result: dict[int, SummaryOutcome] = {}
                for article in articles:
                    result |= await self._run_model(owner, [article], length, keys, reader)
                return result
            article = articles[0]
            reason = f"{type(exc).__name__}: {exc}".strip()
            failure = await self.db.run(self.jobs.failed, keys[article.id], reason)
            logger.error(
                "Summarizing article %d (%s) failed, attempt %d: %s",
                article.id,
                length.value,
                failure.attempts,
                reason,
                exc_info=exc,
            )
            return {article.id: failure}
        made = {keys[a.id]: s for a, s in zip(articles, summaries, strict=True)}
        await self.db.run(self._save, made)
        count = len(articles)
        logger.info(
            "Summarized %d %s (%s) in %.0f ms",
            count,
            "article" if count == 1 else "articles",
            length.value,
            (time.perf_counter() - started) * 1000,
        )
        return {a.id: made[keys[a.id]] for a in articles}

    def _save(self, made: dict[JobKey, str]) -> None:
        """Cache the summaries and drop their jobs, in one transaction."""
        with self.db.transaction() as session:
            for key, summary in made.items():
                self.library.save_summary(
                    key.content_hash, key.model, key.length, summary, session
                )
                self.jobs.succeeded(key, session)
