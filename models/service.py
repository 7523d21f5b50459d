"""SummaryService: owns the loaded model, its worker thread and the summary cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from briefbot.articles import Article, ArticleStore
from briefbot.models.base import Document, Summarizer, SummaryLength

logger = logging.getLogger(__name__)


class SummaryUnavailable(RuntimeError):
    """A summary could not be produced; the message is safe to show to a reader."""


class SummaryService:
    """Summaries for stored articles, read from the cache or computed off the event loop.

    The model runs in one dedicated worker thread, so the asyncio loop never waits on it and
    requests never compete for the CPU. Concurrent requests for the same summary share one
    computation.
    """

    def __init__(self, summarizer: Summarizer, store: ArticleStore) -> None:
        self.summarizer = summarizer
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="summarizer")
        self._in_flight: dict[tuple[str, SummaryLength], asyncio.Future[str]] = {}

    @property
    def model_name(self) -> str:
        return self.summarizer.name

    def cached(self, article: Article, length: SummaryLength) -> str | None:
        return self.store.cached_summary(article.content_hash, self.model_name, length.value)

    async def summary_for(
        self, article: Article, length: SummaryLength = SummaryLength.STANDARD
    ) -> str:
        cached = self.cached(article, length)
        if cached is not None:
            return cached
        key = (article.content_hash, length)
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._in_flight[key] = future
        try:
            made = await loop.run_in_executor(
                self._executor, self._compute_many, [article], length
            )
            summary = made[article.id]
        except Exception as exc:
            logger.exception("Summarizing article %d failed", article.id)
            error = SummaryUnavailable("the summary could not be computed right now")
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters may be absent
            raise error from exc
        else:
            future.set_result(summary)
            return summary
        finally:
            del self._in_flight[key]

    async def summaries_for(
        self, articles: Sequence[Article], length: SummaryLength
    ) -> dict[int, str | None]:
        """Many summaries: cached ones are read, the rest made in one batched model call.

        An article whose summary cannot be made maps to None; the others are still returned.
        """
        result: dict[int, str | None] = {}
        missing: list[Article] = []
        for article in articles:
            cached = self.cached(article, length)
            if cached is None:
                missing.append(article)
            else:
                result[article.id] = cached
        if missing:
            loop = asyncio.get_running_loop()
            try:
                made = await loop.run_in_executor(
                    self._executor, self._compute_many, missing, length
                )
            except Exception:
                logger.exception("Summarizing %d articles failed", len(missing))
                made = {article.id: None for article in missing}
            result.update(made)
        return result

    def _compute_many(self, articles: Sequence[Article], length: SummaryLength) -> dict[int, str]:
        started = time.perf_counter()
        documents = [Document(text=a.text, title=a.title) for a in articles]
        summaries = self.summarizer.summarize_many(documents, length)
        for article, summary in zip(articles, summaries, strict=True):
            self.store.cache_summary(article.content_hash, self.model_name, length.value, summary)
        logger.info(
            "Summarized %d articles (%s) in %.0f ms",
            len(articles),
            length.value,
            (time.perf_counter() - started) * 1000,
        )
        return {article.id: summary for article, summary in zip(articles, summaries, strict=True)}

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
