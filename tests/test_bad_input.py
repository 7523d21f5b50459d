"""Empty library, stale buttons, failing model and Telegram errors: clear answers, no crash."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from briefbot.bot.callbacks import Action, encode
from briefbot.coordination import JobKey
from briefbot.models import Document, SummaryLength
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, READER_ID, Talk, texts


@pytest.mark.slow
def test_empty_library_answers_helpfully(start_bot, api):
    start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    _welcome, empty = reader.say("/start", replies=2)
    assert "no articles yet" in empty.params["text"]
    for command in ("/summary", "/next", "/prev", "/latest"):
        assert "no articles yet" in texts(reader.say(command))[0]


def test_unknown_command_in_private_chat(start_bot, api):
    start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "I don't know /frobnicate" in texts(reader.say("/frobnicate now"))[0]
    odd = texts(reader.say("/" + "ü" * 80))[0]
    assert "I don't know" in odd and len(odd) < 200


def test_stale_and_tampered_buttons(start_bot, api):
    bot = start_bot()
    article = bot.services.library.add("Only story", ARTICLE_TEXT).article
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [card] = reader.say("/summary")
    message_id = card.params["_message_id"]
    for data in ("garbage", "a1:x:1", "a1:s:-1", "a0:s:1", "a1:s:" + "9" * 40):
        [answer] = reader.press(message_id, data)
        assert "no longer valid" in answer.params["text"]
    [answer] = reader.press(message_id, encode(Action.SUMMARY, article.id + 100))
    assert "no longer available" in answer.params["text"]


def test_edited_messages_are_not_answered_twice(start_bot, api):
    bot = start_bot()
    bot.services.library.add("Story", ARTICLE_TEXT)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    mark = api.mark()
    api.push_update(
        {
            "edited_message": {
                "message_id": 99,
                "date": 0,
                "edit_date": 1,
                "chat": reader.chat,
                "text": "/summary",
                "from": {"id": READER_ID, "is_bot": False, "first_name": "R"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
            }
        }
    )
    [help_reply] = reader.say("/help")
    assert texts(api.calls_since(mark, "sendMessage")) == [help_reply.params["text"]]


class BrokenSummarizer:
    name = "broken"
    label = "a broken model"
    writes_any_language = False

    def summarize_many(self, documents: Sequence[Document], length: SummaryLength) -> list[str]:
        raise RuntimeError("CUDA out of memory (simulated)")


def test_failing_model_says_the_summary_is_not_available(start_bot, api):
    bot = start_bot(model=BrokenSummarizer())
    bot.services.library.add("Story", ARTICLE_TEXT)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [card] = reader.say("/summary")
    assert "<b>Story</b>" in card.params["text"]
    assert "summary of this article is not available yet" in card.params["text"]
    assert "CUDA" not in card.params["text"]  # readers are not shown internals
    assert "help" in texts(reader.say("/help"))[0]  # still serving
    # The failure is recorded with its reason, and the admin is shown it.
    article = bot.services.library.latest(1)[0]
    failure = bot.services.jobs.failure(JobKey(article.content_hash, "broken", "standard"))
    assert failure.reason == "RuntimeError: CUDA out of memory (simulated)"
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    [card] = admin.say("/summary")
    assert (
        "Reason (attempt 1): RuntimeError: CUDA out of memory (simulated)" in card.params["text"]
    )


def test_flood_limit_is_waited_out(start_bot, api):
    bot = start_bot()
    bot.services.library.add("Story", ARTICLE_TEXT)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/summary")
    calls = api.wait_for(mark, "sendMessage", 2, chat_id=READER_ID)
    assert "<b>Story</b>" in calls[1].params["text"]  # the retry delivered it
    assert calls[1].at - calls[0].at >= 1.0


@pytest.mark.slow
def test_telegram_server_errors_are_retried(start_bot, api):
    bot = start_bot()
    bot.services.library.add("Story", ARTICLE_TEXT)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    # One 502 on the answer to /summary: sent again, and the reader gets the summary.
    api.fail_next("sendMessage", 502, "Bad Gateway")
    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/summary")
    calls = api.wait_for(mark, "sendMessage", 2, chat_id=READER_ID)
    assert "<b>Story</b>" in calls[1].params["text"]
    # A server that keeps failing: after the retries the reader gets an apology.
    api.fail_next("sendMessage", 500, "Internal Server Error", times=4)
    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/summary")
    calls = api.wait_for(mark, "sendMessage", 5, chat_id=READER_ID)
    assert "Something went wrong" in calls[4].params["text"]
    assert "<b>Story</b>" in texts(reader.say("/summary"))[0]


@pytest.mark.slow
def test_a_reply_whose_answer_timed_out_is_not_sent_twice(start_bot, api):
    # At most once: the request reached Telegram, so the message may well have arrived.
    bot = start_bot(request_timeout=1)
    bot.services.library.add("Story", ARTICLE_TEXT)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    api.fail_chat(READER_ID, 500, "never answered in time", hang=2.0)
    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/summary")
    api.wait_for(mark, "sendMessage", 1, chat_id=READER_ID)
    bot.settle()
    time.sleep(1.5)
    # Not repeated, and no apology that could follow a reply that did arrive.
    assert len(api.calls_since(mark, "sendMessage")) == 1
    assert "<b>Story</b>" in texts(reader.say("/summary"))[0]


def test_one_user_cannot_monopolise_the_model(start_bot, api):
    from tests.conftest import ADMIN_ID

    bot = start_bot(user_summaries_per_minute=2)
    for n in range(4):
        bot.services.library.add(f"Story {n}", f"{ARTICLE_TEXT} Number {n}.")
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "Westford" in texts(reader.say("/summary"))[0]
    assert "Westford" in texts(reader.say("/prev"))[0]
    [slowed] = reader.say("/prev")
    assert "<b>Story 1</b>" in slowed.params["text"]
    assert "many new summaries" in slowed.params["text"]
    # Summaries already made are not limited, and admins are not limited at all.
    assert "Westford" in texts(reader.say("/next"))[0]
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    for command in ("/summary", "/prev", "/prev", "/prev"):
        assert "many new summaries" not in texts(admin.say(command))[0]


def test_long_poll_interruptions_lose_and_repeat_nothing(start_bot, api):
    start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    # getUpdates answered with 502, then hung up on mid-poll, then fine again.
    api.fail_next("getUpdates", 502, "Bad Gateway", times=2)
    api.drop_next("getUpdates")
    mark = api.mark()
    for _ in range(3):
        api.send_text(reader.chat, READER_ID, "/help")
    replies = api.wait_for(mark, "sendMessage", 3, chat_id=READER_ID, timeout=60)
    time.sleep(1.0)
    assert len(api.calls_since(mark, "sendMessage")) == len(replies) == 3


def test_a_reset_connection_while_answering_does_not_stop_the_bot(start_bot, api):
    start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    api.drop_next("sendMessage")
    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/help")
    # The connection broke after the reply went out: it may have arrived, so it is not sent
    # again (at most once); the bot logs it and goes on serving.
    api.wait_for(mark, "sendMessage", 1, timeout=30)
    [reply] = reader.say("/help")
    assert "/summary" in reply.params["text"]
    assert len(api.calls_since(mark, "sendMessage")) == 2
