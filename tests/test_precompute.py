"""Summaries are made in the background as soon as articles are stored, and after restarts."""

from __future__ import annotations

import time

from tests.conftest import ADMIN_ID, ARTICLE_TEXT, READER_ID, Store, Talk


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def missing(bot) -> int:
    library, model = bot.services.library, bot.services.owner.name
    return sum(
        len(library.without_summary(model, length, 100)) for length in ("standard", "short")
    )


def test_articles_stored_while_down_are_summarized_at_start(start_bot, api, settings_factory):
    store = Store.open(settings_factory().database_url)
    for n in range(5):
        store.add(f"Story {n}", f"{ARTICLE_TEXT} Number {n}.")
    store.close()

    bot = start_bot(precompute=True)
    wait_for(lambda: missing(bot) == 0)
    # Then, with no summary left to make, the articles' vectors (for topics and Related).
    wait_for(lambda: bot.services.meanings.missing() == 0)
    mark = api.mark()
    [card] = Talk(api, api.private_chat(READER_ID), READER_ID).say("/summary")
    assert "<b>Story 4</b>" in card.params["text"]
    assert not api.calls_since(mark, "sendChatAction")  # read from the cache


def test_new_articles_are_summarized_right_away(start_bot, api):
    bot = start_bot(precompute=True)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    admin.say(f"Fresh story\n{ARTICLE_TEXT}", replies=2)
    [article] = bot.services.library.latest(1)
    model = bot.services.owner.name
    # The card needed the standard summary; the digest's short one comes in the background,
    # right away: well before the idle check a minute later (a wake-up lost while a round
    # ran once made it wait for that).
    wait_for(
        lambda: bot.services.library.summary(article.content_hash, model, "short"), timeout=20
    )
    assert missing(bot) == 0
