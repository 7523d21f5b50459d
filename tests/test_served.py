"""A model behind an OpenAI-compatible server (BRIEFBOT_RUNTIME=openai), against a stand-in
server on 127.0.0.1: answers, 5xx, timeouts, the concurrency limit and streamed answers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import openai
import pytest

from briefbot.cli import main
from briefbot.models import Document, ModelLoadError, SummaryLength, load_summarizer
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.sentences import split_sentences
from briefbot.models.seq2seq import GenerationOptions
from briefbot.models.served import ServedSummarizer, ServerOptions
from briefbot.models.windowed import ModelAnswerError
from tests.conftest import ARTICLE_TEXT, READER_ID, Store, Talk, texts
from tests.instruct import eval_file
from tests.openai_server import Fault, OpenAIServer, ServedModel
from tests.test_streaming import edits_until_the_card

OPENAI = RuntimeOptions(engine="openai")
FIRST = split_sentences(ARTICLE_TEXT)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    running = OpenAIServer().start()
    yield running
    running.stop()


def served(server: OpenAIServer, **options) -> ServedSummarizer:
    model = load_summarizer(
        server.model.name, runtime=OPENAI, server=ServerOptions(url=server.url, **options)
    )
    assert isinstance(model, ServedSummarizer)
    return model


def test_summaries_come_from_the_server_cleaned(server):
    model = served(server)
    assert model.name.startswith("openai:tiny-instruct/")
    assert model.label == f"tiny-instruct (served at {server.url.split('/')[2]})"
    [short] = model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)
    [standard] = model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.STANDARD)
    assert short == FIRST[0]  # the server's preamble is gone
    assert standard == " ".join(FIRST[:3])
    request = server.model.requests[-1]
    assert request["model"] == "tiny-instruct" and request["temperature"] == 0.0
    assert request["max_tokens"] == model.new_tokens(SummaryLength.STANDARD)
    assert "in three sentences" in request["messages"][0]["content"]
    tuned = served(server)
    assert tuned.name == model.name  # the same served model shares the cache
    other = ServedSummarizer(
        "tiny-instruct", ServerOptions(url=server.url), GenerationOptions(temperature=0.7)
    )
    assert other.name != model.name


@pytest.mark.slow
def test_5xx_answers_are_retried_and_failures_raise(server):
    model = served(server, retries=2)
    server.model.faults.extend([Fault(status=500), Fault(status=503)])
    [summary] = model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)
    assert summary == FIRST[0]
    assert len(server.model.requests) == 3
    server.model.faults.extend([Fault(status=500)] * 3)
    with pytest.raises(openai.InternalServerError):
        model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)


def test_a_slow_server_times_out(server):
    model = served(server, timeout=0.5, retries=0)
    server.model.faults.append(Fault(delay=2.0))
    with pytest.raises(openai.APITimeoutError):
        model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)


def test_requests_stay_within_the_concurrency_limit(server):
    model = served(server, concurrency=2)
    server.model.answer_delay = 0.2
    documents = [Document(f"{ARTICLE_TEXT} Paragraph {n}.") for n in range(6)]
    summaries = model.summarize_many(documents, SummaryLength.SHORT)
    assert summaries == [FIRST[0]] * 6
    assert server.model.most_in_flight == 2


def test_a_long_article_goes_window_by_window(server):
    model = served(server, context_tokens=600)
    long_article = " ".join(f"{s} This is part {n}." for n in range(8) for s in FIRST)
    windows = model.windows(long_article, SummaryLength.SHORT)
    assert len(windows) > 2
    assert " ".join(windows).split() == " ".join(split_sentences(long_article)).split()
    [summary] = model.summarize_many([Document(long_article)], SummaryLength.SHORT)
    assert summary == FIRST[0]
    assert model.stats.reduce_rounds >= 1


def test_answers_with_nothing_usable_are_failures(server, monkeypatch):
    model = served(server)
    monkeypatch.setattr(ServedModel, "answer", lambda self, request: "<think>Hmm, let me")
    with pytest.raises(ModelAnswerError, match="no usable summary"):
        model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)


def test_streamed_answers_grow_and_end_with_the_summary(server):
    model = served(server)
    shown = list(model.stream(Document(ARTICLE_TEXT), SummaryLength.STANDARD))
    assert len(shown) > 5
    assert all(b.startswith(a.rsplit(" ", 1)[0]) for a, b in itertools.pairwise(shown))
    assert shown[-1] == " ".join(FIRST[:3])
    assert server.model.requests[-1]["stream"] is True


@pytest.mark.slow
def test_configuration_and_unknown_models(server, tmp_path, monkeypatch):
    from briefbot.config import load_settings
    from briefbot.services import load_model

    monkeypatch.setenv("BRIEFBOT_RUNTIME", "openai")
    monkeypatch.setenv("BRIEFBOT_MODEL", "tiny-instruct")
    monkeypatch.setenv("BRIEFBOT_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(ModelLoadError, match="needs BRIEFBOT_MODEL_URL"):
        load_model(load_settings())
    monkeypatch.setenv("BRIEFBOT_MODEL_URL", server.url)
    monkeypatch.setenv("BRIEFBOT_MODEL_KEY", "secret-key")
    monkeypatch.setenv("BRIEFBOT_MODEL_CONCURRENCY", "3")
    model = load_model(load_settings())
    assert isinstance(model, ServedSummarizer) and model.options.concurrency == 3
    assert model.client.api_key == "secret-key"
    with pytest.raises(ModelLoadError, match="does not serve 'other-model'"):
        load_model(load_settings(), "other-model")
    # A server that is not up yet is not fatal: summaries fail until it is.
    server.stop()
    waiting = load_model(load_settings())
    with pytest.raises(openai.APIConnectionError):
        waiting.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)


def test_failures_are_recorded_like_model_failures(server, database_url):
    from tests.test_summarizer import summary_service

    store = Store.open(database_url)
    article = store.add("Bridge", ARTICLE_TEXT)
    service = summary_service(store, served(server, retries=0))
    server.model.faults.append(Fault(status=500))

    from briefbot.summaries import SummaryFailed

    with pytest.raises(SummaryFailed) as failed:
        asyncio.run(service.summary_for(article, SummaryLength.STANDARD))
    assert "InternalServerError" in failed.value.failure.reason
    service.owner.close()
    store.close()


@pytest.mark.slow
def test_the_bot_serves_a_served_model(start_bot, api, server):
    bot = start_bot(model=served(server), precompute=False)
    bot.services.library.add("Bridge", ARTICLE_TEXT)
    mark = api.mark()
    [first] = Talk(api, api.private_chat(READER_ID), READER_ID).say("/summary")
    final = first if first.params.get("reply_markup") else edits_until_the_card(api, mark)[-1]
    assert " ".join(FIRST[:3]) in texts([final])[0]
    assert api.failed_calls(mark) == []


def test_eval_runs_a_served_model_and_counts_what_it_fails(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BRIEFBOT_RUNTIME", "openai")
    monkeypatch.setenv("BRIEFBOT_MODEL_URL", server.url)
    monkeypatch.setenv("BRIEFBOT_MODEL", server.model.name)
    data = eval_file(tmp_path, reference=FIRST[0])
    assert main(["eval", str(data), "--length", "short"]) == 0
    out = capsys.readouterr().out
    assert "served at" in out and "100.00" in out  # the summary is the reference
    # One article the server fails on scores zero and is reported; the others still count.
    monkeypatch.setenv("BRIEFBOT_BATCH_SIZE", "1")
    server.model.faults.extend([Fault(status=400)])
    assert main(["eval", str(data), "--length", "short"]) == 0
    out = capsys.readouterr().out
    assert "1 of 3 articles got no summary" in out and "BadRequestError" in out
    # A server that fails everything: one line and exit status 1, no table.
    server.model.faults.extend([Fault(status=400)] * 3)
    assert main(["eval", str(data), "--length", "short"]) == 1
    captured = capsys.readouterr()
    assert "the model failed on every article" in captured.err and "ROUGE" not in captured.out
