"""SummaryService: the summary of a stored article, from the cache or made exactly once.

A summary is cached per (article content, model with its settings, length, language). It is
written in the article's language, or in the reader's where the model can write any language
(instruct LLMs): that one is cached under the form `standard:ru`. One that is not
cached yet is claimed in the summary jobs table and made by the model this process owns, so
no two instances (or readers) make the same summary: one made elsewhere is awaited. A process
that owns no model (BRIEFBOT_SUMMARIZER=worker) asks `briefbot worker` for it the same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from briefbot.articles import Article, Library
from briefbot.coordination import Instance, Instances, JobKey, SummaryFailure, SummaryJobs
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


def summary_form(length: SummaryLength, language: str | None = None) -> str:
    """How a summary is keyed in the cache and the jobs table: its length, and the language
    it is written in when that is not the article's ('standard', 'standard:ru')."""
    return f"{length.value}:{language}" if language else length.value


def parse_form(form: str) -> tuple[SummaryLength, str | None]:
    """The length and language of a summary form; ValueError for one that is not."""
    length, _, language = form.partition(":")
    return SummaryLength(length), language or None


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
        self.db, self.library, self.jobs, self.instances = db, library, jobs, instances
        self.owner = owner
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._serving: Instance | None = None  # the worker's model, without one here

    async def model_name(self) -> str:
        """The cache key of the model summaries come from; raises SummaryUnavailable when no
        model runs anywhere yet."""
        if self.owner is not None:
            return self.owner.name
        if self._serving is None:
            self._serving = await self.db.run(self.instances.serving)
        if self._serving is None or self._serving.model is None:
            raise SummaryUnavailable("no summarizer is running (start `briefbot worker`)")
        return self._serving.model

    @property
    def streams(self) -> bool:
        """Whether this instance's model can show a summary as it writes it."""
        return self.owner is not None and hasattr(self.owner.summarizer, "stream")

    @property
    def writes_any_language(self) -> bool:
        """Whether the model (this instance's, else the worker's, once `model_name` found
        it) can summarize in another language than the article's."""
        if self.owner is not None:
            return self.owner.summarizer.writes_any_language
        return self._serving is not None and self._serving.writes_any_language

    def translation(self, article: Article, language: str | None) -> str | None:
        """The language a summary for a reader of `language` (ISO 639-1) is translated into:
        theirs, where it is not the article's and the model can write it; else None."""
        if language and article.language and article.language != language:
            return language if self.writes_any_language else None
        return None

    def summary_language(self, article: Article, language: str | None) -> str | None:
        """The language the summary a reader of `language` gets is written in."""
        return self.translation(article, language) or article.language

    def _key(
        self, article: Article, model: str, length: SummaryLength, language: str | None
    ) -> JobKey:
        form = summary_form(length, self.translation(article, language))
        return JobKey(article.content_hash, model, form)

    @property
    def label(self) -> str:
        if self.owner is not None:
            return self.owner.label
        if self._serving is not None and self._serving.model:
            return self._serving.model
        return "none yet (waiting for a worker)"

    async def summary_for(
        self,
        article: Article,
        length: SummaryLength,
        on_text: Callable[[str], None] | None = None,
        *,
        language: str | None = None,
    ) -> str:
        """The summary for a reader of `language` (see `summary_language`); raises
        SummaryFailed for a recorded failure and SummaryUnavailable when it cannot be had now.
        `on_text` is called with the text so far while this instance's model writes it, where
        the model can tell."""
        key = self._key(article, await self.model_name(), length, language)
        [(summary, failure)] = await self.db.run(self._states, [key])
        if summary is not None:
            return summary
        if failure is not None and (failure.retry_at is None or failure.retry_at > utcnow()):
            raise SummaryFailed(failure)
        if self.owner is None:
            await self.db.run(self.jobs.request, key, article.id)
        else:
            made = await self._make([article], length, language, reader=True, on_text=on_text)
            outcome = made[article.id]
            if isinstance(outcome, str):
                return outcome
            if outcome is not None:
                raise SummaryFailed(outcome)
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:  # made elsewhere: another instance, or a worker
            await asyncio.sleep(self.poll_seconds)
            [(summary, failure)] = await self.db.run(self._states, [key])
            if summary is not None:
                return summary
            if failure is not None:
                raise SummaryFailed(failure)
        raise SummaryUnavailable("the summary is still being prepared")

    def _states(self, keys: list[JobKey]) -> list[tuple[str | None, SummaryFailure | None]]:
        """Each summary as it stands: cached, failed, or neither yet (one transaction)."""
        states = []
        with self.db.transaction() as session:
            for key in keys:
                summary = self.library.summary(key.content_hash, key.model, key.form, session)
                failed = None if summary is not None else self.jobs.failure(key, session)
                states.append((summary, failed))
        return states

    async def summaries_for(
        self,
        articles: Sequence[Article],
        length: SummaryLength,
        *,
        language: str | None = None,
        retry_failed: bool = False,
    ) -> dict[int, SummaryOutcome]:
        """Many summaries, for readers of `language`: cached ones are read, the rest made in
        one batched model call.

        Each article maps to its summary, to its SummaryFailure, or to None when another
        instance is making it (or, without a model, a worker has been asked for it).
        """
        try:
            model = await self.model_name()
        except SummaryUnavailable:  # no model runs anywhere yet: nothing to read or ask for
            return dict.fromkeys((a.id for a in articles), None)
        keys = [self._key(a, model, length, language) for a in articles]
        states = await self.db.run(self._states, keys)
        result: dict[int, SummaryOutcome] = {}
        missing = []
        for article, key, (summary, _) in zip(articles, keys, states, strict=True):
            if summary is not None:
                result[article.id] = summary
            elif self.owner is None:
                await self.db.run(self.jobs.request, key, article.id)
                result[article.id] = None
            else:
                missing.append(article)
        if missing:
            result |= await self._make(missing, length, language, retry_failed=retry_failed)
        return result

    async def _make(
        self,
        articles: Sequence[Article],
        length: SummaryLength,
        language: str | None,
        *,
        retry_failed: bool = False,
        reader: bool = False,
        on_text: Callable[[str], None] | None = None,
    ) -> dict[int, SummaryOutcome]:
        """Claim the summaries, make the ones this instance won, report the rest as they
        stand (cached by now, failed, or None: someone else is making them)."""
        if self.owner is None:
            raise SummaryUnavailable("this instance runs no model")
        keys = {a.id: self._key(a, self.owner.name, length, language) for a in articles}
        owned = await self.db.run(self._claim, articles, keys, retry_failed)
        mine = [a for a in articles if keys[a.id] in owned]
        others = [a for a in articles if keys[a.id] not in owned]
        states = await self.db.run(self._states, [keys[a.id] for a in others])
        result: dict[int, SummaryOutcome] = {
            a.id: summary if summary is not None else failure
            for a, (summary, failure) in zip(others, states, strict=True)
        }
        if mine:
            result |= await self._run_model(
                self.owner, mine, length, language, keys, reader, on_text
            )
        return result

    def _claim(
        self, articles: Sequence[Article], keys: dict[int, JobKey], retry_failed: bool
    ) -> set[JobKey]:
        """The summaries this instance is to make. The cache is read after the claim, in the
        same transaction: one finished elsewhere since the caller last looked (its job row
        gone with it) is then not made a second time."""
        with self.db.transaction() as session:
            claimed = self.jobs.claim(
                [(keys[a.id], a.id) for a in articles], retry_failed=retry_failed, session=session
            )
            made_meanwhile = {
                key
                for key in claimed
                if self.library.summary(key.content_hash, key.model, key.form, session)
            }
            for key in made_meanwhile:
                self.jobs.succeeded(key, session)
            return claimed - made_meanwhile

    async def _run_model(
        self,
        owner: ModelOwner,
        articles: Sequence[Article],
        length: SummaryLength,
        language: str | None,
        keys: dict[int, JobKey],
        reader: bool,
        on_text: Callable[[str], None] | None = None,
    ) -> dict[int, SummaryOutcome]:
        started = time.perf_counter()
        documents = [
            Document(a.text, a.title, a.language, self.translation(a, language)) for a in articles
        ]
        try:
            if on_text is not None and len(documents) == 1:
                summaries = [await owner.stream(documents[0], length, on_text)]
            else:
                summaries = await owner.summarize(documents, length, reader=reader)
        except Exception as exc:
            if len(articles) > 1:
                # Find the article that breaks the batch; the others still get summaries.
                logger.warning("A batch of %d failed (%s); one by one", len(articles), exc)
                result: dict[int, SummaryOutcome] = {}
                for article in articles:
                    result |= await self._run_model(
                        owner, [article], length, language, keys, reader
                    )
                return result
            article, reason = articles[0], f"{type(exc).__name__}: {exc}".strip()
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
        logger.info(
            "Summarized %d %s (%s) in %.0f ms",
            len(articles),
            "article" if len(articles) == 1 else "articles",
            length.value,
            (time.perf_counter() - started) * 1000,
        )
        return {a.id: made[keys[a.id]] for a in articles}

    def _save(self, made: dict[JobKey, str]) -> None:
        """Cache the summaries and drop their jobs, in one transaction."""
        with self.db.transaction() as session:
            for key, summary in made.items():
                self.library.save_summary(key.content_hash, key.model, key.form, summary, session)
                self.jobs.succeeded(key, session)
