"""Summaries shown to the reader as the model writes them, through the Bot API stand-in, with
a model behind the OpenAI-compatible stand-in server that answers word by word."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from briefbot.bot.callbacks import Action, encode
from briefbot.bot.streaming import PRIVATE_INTERVAL, WRITING
from briefbot.models import load_summarizer
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.sentences import split_sentences
from briefbot.models.served import ServerOptions
from tests.conftest import ARTICLE_TEXT, READER_ID, Talk, buttons
from tests.openai_server import OpenAIServer

pytestmark = pytest.mark.slow

SUMMARY = " ".join(split_sentences(ARTICLE_TEXT)[:3])


def edits_until_the_card(api, mark: int, timeout: float = 30.0) -> list:
    """The edits after `mark` up to the one that puts the finished card (with buttons)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        edits = api.calls_since(mark, "editMessageText")
        if edits and edits[-1].params.get("reply_markup"):
            return edits
        time.sleep(0.1)
    raise AssertionError(f"no finished card: {[e.params['text'][-40:] for e in edits]}")


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    running = OpenAIServer().start()
    running.model.answer_delay = 4.0  # the answer's words come over four seconds
    yield running
    running.stop()


@pytest.fixture
def streaming_bot(start_bot, server):
    model = load_summarizer(
        server.model.name,
        runtime=RuntimeOptions(engine="openai"),
        server=ServerOptions(url=server.url),
    )
    return start_bot(model=model, precompute=False)


def test_a_command_shows_the_summary_growing_then_the_card(streaming_bot, api, server):
    article = streaming_bot.services.library.add("Bridge", ARTICLE_TEXT).article
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    mark = api.mark()
    [first] = reader.say("/summary")
    assert first.params["text"].endswith(WRITING)  # the first words, not the whole answer
    assert first.at - api.calls_since(mark)[0].at < 3.0
    edits = edits_until_the_card(api, mark)
    final = edits[-1]
    # Everything went on one message, the pace kept, and the last edit is the card.
    message_id = first.params["_message_id"]
    assert {e.params["message_id"] for e in edits} == {message_id}
    growing = [first, *edits[:-1]]
    assert len(growing) >= 2
    assert all(b.at - a.at >= PRIVATE_INTERVAL - 0.05 for a, b in itertools.pairwise(growing))
    assert [t for t, _ in buttons(final)] == [
        "◀ Previous",
        "📤 Share",
        "Next ▶",
        "➕ Longer summary",
        "🧭 Related",
    ]
    assert SUMMARY in final.params["text"] and WRITING not in final.params["text"]
    assert len(api.calls_since(mark, "sendMessage")) == 1
    # Only the final text is cached, and it is what the reader sees.
    model = streaming_bot.services.owner.summarizer
    assert (
        streaming_bot.services.library.summary(article.content_hash, model.name, "standard")
        == SUMMARY
    )
    assert api.failed_calls(mark) == []


def test_a_pressed_card_grows_in_place(streaming_bot, api, server):
    article = streaming_bot.services.library.add("Bridge", ARTICLE_TEXT).article
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    _welcome, card = reader.say("/start", replies=2)
    card_id = card.params["_message_id"]
    mark = api.mark()
    reader.press(card_id, encode(Action.SUMMARY, article.id))
    edits = edits_until_the_card(api, mark)
    assert len(edits) >= 2 and edits[0].params["text"].endswith(WRITING)
    assert {e.params["message_id"] for e in edits} == {card_id}
    assert SUMMARY in edits[-1].params["text"]
    assert api.calls_since(mark, "sendMessage") == []
    assert api.failed_calls(mark) == []
    assert "in three sentences" in server.model.requests[-1]["messages"][0]["content"]
