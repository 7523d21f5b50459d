"""The embedded summarizer and the service that owns it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import update

from briefbot.coordination import JobKey, SummaryFailure
from briefbot.coordination.jobs import MAX_SUMMARY_ATTEMPTS
from briefbot.coordination.schema import SummaryJobRow
from briefbot.models import Document, ModelLoadError, ModelOwner, SummaryLength, load_summarizer
from briefbot.models.sentences import split_sentences
from briefbot.summaries import SummaryFailed, SummaryService
from tests.conftest import ARTICLE_TEXT, Store

STANDARD = SummaryLength.STANDARD


def test_sentence_splitter_handles_abbreviations_and_quotes():
    text = (
        'Mr. Smith met Dr. Jones in the U.S. capital on Monday. "It went well," he said. '
        "Prices rose 2.5 per cent. J. R. Hartley wrote a book!\n\nA new paragraph starts here"
    )
    assert split_sentences(text) == [
        "Mr. Smith met Dr. Jones in the U.S. capital on Monday.",
        '"It went well," he said.',
        "Prices rose 2.5 per cent.",
        "J. R. Hartley wrote a book!",
        "A new paragraph starts here",
    ]


def test_lengths_give_one_three_and_five_sentences(summarizer):
    text = " ".join(
        f"{sentence} Detail number {n} about the bridge and the town."
        for n, sentence in enumerate(split_sentences(ARTICLE_TEXT))
    )
    document = Document(text, "Footbridge opens in Westford")
    for length, count in (
        (SummaryLength.SHORT, 1),
        (SummaryLength.STANDARD, 3),
        (SummaryLength.LONG, 5),
    ):
        summary = summarizer.summarize_many([document], length)[0]
        sentences = split_sentences(summary)
        assert len(sentences) == count
        # Extractive: every sentence comes from the article, in article order.
        positions = [text.index(s) for s in sentences]
        assert positions == sorted(positions)


def test_short_and_empty_documents(summarizer):
    assert summarizer.summarize_many([Document("")], SummaryLength.STANDARD) == [""]
    two = "The first sentence is right here. The second sentence follows it."
    assert summarizer.summarize_many([Document(two)], SummaryLength.LONG) == [two]


def test_summary_prefers_the_topic_over_an_aside(summarizer):
    text = (
        "The city council approved a new budget for public schools on Tuesday. "
        "The budget adds money for teachers, school meals and building repairs. "
        "Parents had campaigned for more school funding for three years. "
        "Separately, a cat was seen sitting on a parked car near the town hall. "
        "Council members said the school budget would be reviewed again next spring."
    )
    summary = summarizer.summarize_many(
        [Document(text, "Council backs school budget")], SummaryLength.SHORT
    )[0]
    assert "cat" not in summary and "school" in summary.lower()


def test_unknown_model_fails_clearly():
    with pytest.raises(ModelLoadError, match="model 'no-such-model' was not found"):
        load_summarizer("no-such-model")


class RecordingSummarizer:
    """Wraps the real model and records where and how often it ran."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.label = "recording"
        self.writes_any_language = inner.writes_any_language
        self.threads: list[str] = []
        self.fail = False
        self.poison: str | None = None
        self.calls: list[int] = []

    def summarize_many(self, documents: Sequence[Document], length: SummaryLength) -> list[str]:
        self.threads.append(threading.current_thread().name)
        self.calls.append(len(documents))
        if self.fail:
            raise MemoryError("simulated out-of-memory")
        if self.poison and any(self.poison in d.text for d in documents):
            raise RuntimeError("CUDA out of memory (simulated)")
        return self.inner.summarize_many(documents, length)


def summary_service(store: Store, summarizer) -> SummaryService:
    owner = ModelOwner(summarizer)
    return SummaryService(store.db, store.library, store.jobs, store.instances, owner)


def test_service_runs_the_model_off_the_loop_once_per_summary(summarizer, store):
    recording = RecordingSummarizer(summarizer)
    service = summary_service(store, recording)
    article = store.add("Bridge", ARTICLE_TEXT)

    async def scenario() -> list[str]:
        loop_thread = threading.current_thread().name
        results = await asyncio.gather(*(service.summary_for(article, STANDARD) for _ in range(5)))
        assert all(name != loop_thread for name in recording.threads)
        return results

    results = asyncio.run(scenario())
    assert len(set(results)) == 1 and results[0]
    assert recording.threads == ["model_0"]  # five requests, one computation
    assert store.library.summary(article.content_hash, recording.name, "standard") == results[0]
    asyncio.run(service.summary_for(article, STANDARD))
    assert len(recording.threads) == 1  # served from the cache
    service.owner.close()


def test_a_summary_finished_elsewhere_after_a_look_is_not_made_again(
    summarizer, store, monkeypatch
):
    """Another instance saves the summary (and drops its job) between this one's look at the
    cache and its claim: the claim finds it and the model does not run."""
    recording = RecordingSummarizer(summarizer)
    service = summary_service(store, recording)
    article = store.add("Bridge", ARTICLE_TEXT)
    store.library.save_summary(article.content_hash, recording.name, "standard", "Made there.")
    real_summary, looks = store.library.summary, []

    def summary_missed_by_the_first_look(*args, **kwargs):
        looks.append(args)
        return None if len(looks) == 1 else real_summary(*args, **kwargs)

    monkeypatch.setattr(store.library, "summary", summary_missed_by_the_first_look)
    assert asyncio.run(service.summary_for(article, STANDARD)) == "Made there."
    assert recording.calls == []
    assert store.jobs.failure(JobKey(article.content_hash, recording.name, "standard")) is None
    service.owner.close()


def test_service_reports_a_failing_model(summarizer, store):
    recording = RecordingSummarizer(summarizer)
    recording.fail = True
    service = summary_service(store, recording)
    article = store.add("Bridge", ARTICLE_TEXT)
    with pytest.raises(SummaryFailed) as failed:
        asyncio.run(service.summary_for(article, STANDARD))
    assert "MemoryError: simulated out-of-memory" in str(failed.value)
    assert store.library.summary(article.content_hash, recording.name, "standard") is None
    # The failure is in the database with its reason, so a restart does not forget it.
    key = JobKey(article.content_hash, recording.name, "standard")
    reopened = summary_service(store, recording)
    failure = store.jobs.failure(key)
    assert failure is not None and failure.attempts == 1
    assert failure.reason == "MemoryError: simulated out-of-memory"
    assert failure.retry_at is not None  # tried again later, not on every /summary
    recording.fail = False
    with pytest.raises(SummaryFailed):
        asyncio.run(reopened.summary_for(article, STANDARD))
    assert len(recording.calls) == 1
    # The background pass retries it once its time has come.
    results = asyncio.run(reopened.summaries_for([article], STANDARD, retry_failed=True))
    assert isinstance(results[article.id], str)
    assert store.jobs.failure(key) is None
    assert asyncio.run(reopened.summary_for(article, STANDARD)) == results[article.id]
    service.owner.close()
    reopened.owner.close()


def test_one_failing_article_does_not_sink_its_batch(summarizer, store):
    recording = RecordingSummarizer(summarizer)
    recording.poison = "POISON"
    service = summary_service(store, recording)
    good = store.add("Bridge", ARTICLE_TEXT)
    bad = store.add("Poison", ARTICLE_TEXT + " POISON")
    results = asyncio.run(service.summaries_for([good, bad], STANDARD))
    assert isinstance(results[good.id], str)
    assert isinstance(results[bad.id], SummaryFailure)
    assert store.jobs.failure(JobKey(bad.content_hash, recording.name, "standard")) is not None
    assert store.jobs.failure(JobKey(good.content_hash, recording.name, "standard")) is None
    assert store.jobs.failed_count() == 1
    service.owner.close()


def _process_dies(store: Store) -> None:
    with store.db.transaction() as session:
        session.execute(update(SummaryJobRow).values(owner="killed-instance"))


def test_a_summary_that_keeps_stopping_the_process_is_given_up(store):
    jobs = store.jobs
    first = store.add("Bridge", ARTICLE_TEXT)
    second = store.add("Other", ARTICLE_TEXT + " More.")
    one, two = (JobKey(a.content_hash, "m", "standard") for a in (first, second))
    # Interrupted in a batch: not held against either article.
    assert jobs.claim([(one, first.id), (two, second.id)]) == {one, two}
    _process_dies(store)
    assert sorted(jobs.waiting("m", 10)) == [
        (first.id, "standard", True),
        (second.id, "standard", True),
    ]
    # Alone, three times: it is what stops the process, so it is marked failed.
    for _ in range(MAX_SUMMARY_ATTEMPTS):
        assert jobs.claim([(one, first.id)]) == {one}
        _process_dies(store)
    assert jobs.claim([(one, first.id)]) == set()
    assert jobs.crashed_too_often() == 1
    failure = jobs.failure(one)
    assert failure is not None and failure.retry_at is None
    assert "stopped" in failure.reason and failure.attempts == MAX_SUMMARY_ATTEMPTS
    # The other article of that batch is untouched by its neighbour's record.
    assert jobs.claim([(two, second.id)]) == {two}
