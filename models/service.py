"""SummaryService: owns the loaded model, its worker thread and the summary cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from briefbot.articles import Article, ArticleStore
from briefbot.articles.schema import utcnow
from briefbot.articles.summary_jobs import JobKey, SummaryFailure
from briefbot.models.base import Document, Summarizer, SummaryLength

logger = logging.getLogger(__name__)

Outcome = str | SummaryFailure | None  # a summary, a recorded failure, or computed elsewhere


class SummaryUnavailable(RuntimeError):
    """A summary could not be produced; the message is safe to show to a reader."""


class SummaryFailed(SummaryUnavailable):
    """The model failed on this article; recorded with the reason and a retry time."""

    def __init__(self, failure: SummaryFailure) -> None:
        super().__init__(f"the summarizer failed on this article: {failure.reason}")
        self.failure = failure


class SummaryService:
    """Summaries for stored articles, read from the cache or computed off the event loop.

    The model runs in one dedicated worker thread, so the asyncio loop never waits on it and
    requests never compete for the CPU. Concurrent requests for the same summary share one
    computation, and the summary jobs table makes that hold across instances: a summary
    another instance is computing is awaited, not computed again.

    Without a summarizer (the model runs in `briefbot worker` elsewhere) summaries are
    requested through the database and awaited.
    """

    def __init__(
        self,
        summarizer: Summarizer | None,
        store: ArticleStore,
        *,
        model_name: str | None = None,
        wait_seconds: float = 60.0,
        poll_seconds: float = 0.25,
    ) -> None:
        self.summarizer = summarizer
        self.store = store
        self.jobs = store.summary_jobs
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._model_name = model_name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="summarizer")
        self._in_flight: dict[tuple[str, SummaryLength], asyncio.Future[str]] = {}
        self._no_readers = asyncio.Event()
        self._no_readers.set()

    async def readers_served(self) -> None:
        """Return when no reader's summary is being made: background batches go after them."""
        await self._no_readers.wait()

    @property
    def model_name(self) -> str:
        if self.summarizer is not None:
            return self.summarizer.name
        if self._model_name is None:
            self._model_name = self.store.instances.served_model()
        if self._model_name is None:
            raise SummaryUnavailable("no summarizer is running (start `briefbot worker`)")
        return self._model_name

    @property
    def model_label(self) -> str:
        try:
            return self.model_name
        except SummaryUnavailable:
            return "none yet (waiting for a worker)"

    def key(self, article: Article, length: SummaryLength) -> JobKey:
        return JobKey(article.content_hash, self.model_name, length.value)

    def cached(self, article: Article, length: SummaryLength) -> str | None:
        try:
            name = self.model_name
        except SummaryUnavailable:
            return None
        return self.store.cached_summary(article.content_hash, name, length.value)

    async def summary_for(
        self, article: Article, length: SummaryLength = SummaryLength.STANDARD
    ) -> str:
        """The summary; raises SummaryFailed for a recorded failure, SummaryUnavailable when
        it cannot be had now."""
        cached = self.cached(article, length)
        if cached is not None:
            return cached
        key = self.key(article, length)
        failure = self.jobs.failure(key)
        if failure is not None and (failure.retry_at is None or failure.retry_at > utcnow()):
            raise SummaryFailed(failure)
        if self.summarizer is None:
            self.jobs.request(key, article.id)
            return await self._wait_for(key)
        in_process = (article.content_hash, length)
        pending = self._in_flight.get(in_process)
        if pending is not None:
            return await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._in_flight[in_process] = future
        self._no_readers.clear()
        try:
            outcome = (
                await loop.run_in_executor(self._executor, self._compute_many, [article], length)
            )[article.id]
            if outcome is None:
                outcome = await self._wait_for(key)
            elif isinstance(outcome, SummaryFailure):
                raise SummaryFailed(outcome)
        except SummaryUnavailable as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters may be absent
            raise
        except Exception as exc:
            logger.exception("Summarizing article %d failed", article.id)
            error = SummaryUnavailable("the summary could not be computed right now")
            future.set_exception(error)
            future.exception()
            raise error from exc
        else:
            future.set_result(outcome)
            return outcome
        finally:
            del self._in_flight[in_process]
            if not self._in_flight:
                self._no_readers.set()

    async def _wait_for(self, key: JobKey) -> str:
        """Wait for a summary being computed elsewhere (another instance or a worker)."""
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(self.poll_seconds)
            text = self.store.cached_summary(key.content_hash, key.model, key.length)
            if text is not None:
                return text
            failure = self.jobs.failure(key)
            if failure is not None:
                raise SummaryFailed(failure)
        raise SummaryUnavailable("the summary is still being prepared")

    async def summaries_for(
        self, articles: Sequence[Article], length: SummaryLength, *, retry_failed: bool = False
    ) -> dict[int, Outcome]:
        """Many summaries: cached ones are read, the rest made in one batched model call.

        Each article maps to its summary, to its SummaryFailure, or to None when another
        instance is computing it (or, without a model, a worker has been asked for it).
        """
        result: dict[int, Outcome] = {}
        missing: list[Article] = []
        for article in articles:
            cached = self.cached(article, length)
            if cached is None:
                missing.append(article)
            else:
                result[article.id] = cached
        if not missing:
            return result
        if self.summarizer is None:
            for article in missing:
                self.jobs.request(self.key(article, length), article.id)
                result[article.id] = None
            return result
        loop = asyncio.get_running_loop()
        made = await loop.run_in_executor(
            self._executor, self._compute_many, missing, length, retry_failed
        )
        result.update(made)
        return result

    def _compute_many(
        self, articles: Sequence[Article], length: SummaryLength, retry_failed: bool = False
    ) -> dict[int, Outcome]:
        keys = {article.id: self.key(article, length) for article in articles}
        owned = self.jobs.claim([(keys[a.id], a.id) for a in articles], retry_failed=retry_failed)
        result: dict[int, Outcome] = {}
        mine: list[Article] = []
        for article in articles:
            key = keys[article.id]
            if key in owned:
                mine.append(article)
                continue
            cached = self.store.cached_summary(key.content_hash, key.model, key.length)
            result[article.id] = cached if cached is not None else self.jobs.failure(key)
        if mine:
            result.update(self._run_model(mine, length, keys))
        return result

    def _run_model(
        self, articles: Sequence[Article], length: SummaryLength, keys: dict[int, JobKey]
    ) -> dict[int, Outcome]:
        started = time.perf_counter()
        try:
            summaries = self.summarizer.summarize_many(  # type: ignore[union-attr]
                [Document(text=a.text, title=a.title) for a in articles], length
            )
        except Exception as exc:
            if len(articles) > 1:
                # Find the article that breaks the batch; the others still get summaries.
                logger.warning("A batch of %d failed (%s); one by one", len(articles), exc)
                result: dict[int, Outcome] = {}
                for article in articles:
                    result.update(self._run_model([article], length, keys))
                return result
            article = articles[0]
            reason = f"{type(exc).__name__}: {exc}".strip()
            failure = self.jobs.failed(keys[article.id], reason)
            logger.error(
                "Summarizing article %d (%s) failed, attempt %d: %s",
                article.id,
                length.value,
                failure.attempts,
                reason,
                exc_info=exc,
            )
            return {article.id: failure}
        for article, summary in zip(articles, summaries, strict=True):
            self.jobs.succeeded(keys[article.id], summary)
        logger.info(
            "Summarized %d articles (%s) in %.0f ms",
            len(articles),
            length.value,
            (time.perf_counter() - started) * 1000,
        )
        return {article.id: summary for article, summary in zip(articles, summaries, strict=True)}

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
