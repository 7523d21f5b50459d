"""Inline mode: `@bot words` in any chat, answered in time, paged, in the user's language."""

from __future__ import annotations

from tests.botapi import check_html
from tests.conftest import ARTICLE_TEXT, READER_ID


def test_an_inline_query_lists_matching_articles_to_share(start_bot, api):
    bot = start_bot()
    library = bot.services.library
    bridge = library.add("Bridge opens", ARTICLE_TEXT, url="https://news.example.org/b").article
    for n in range(3):
        library.add(f"Harbour news {n}", f"{ARTICLE_TEXT} Harbour item {n}.")
    answer = api.inline_answer(api.inline_query(READER_ID, "footbridge opens"))
    results = answer["results"]
    assert results[0]["title"] == "Bridge opens"
    first = results[0]
    assert first["id"] == str(bridge.id)
    assert first["description"].startswith("The river town of Westford")
    message = first["input_message_content"]["message_text"]
    assert message.startswith("<b>Bridge opens</b>\n")
    assert '<a href="https://news.example.org/b">Source</a>' in message
    check_html(message)
    [[button]] = first["reply_markup"]["inline_keyboard"]
    assert button["url"] == f"https://t.me/briefbot_test_bot?start=a{bridge.id}"
    assert int(answer["cache_time"]) == 60 and answer["button"]["start_parameter"] == "inline"
    assert api.failed_calls() == []


def test_an_empty_inline_query_pages_through_the_newest(start_bot, api):
    bot = start_bot()
    for n in range(45):
        bot.services.library.add(f"Story {n}", f"{ARTICLE_TEXT} Item {n}.")
    first = api.inline_answer(api.inline_query(READER_ID, ""))
    assert [r["title"] for r in first["results"]][:2] == ["Story 44", "Story 43"]
    assert len(first["results"]) == 20 and first["next_offset"] == "20"
    second = api.inline_answer(api.inline_query(READER_ID, "", offset="20"))
    assert second["results"][0]["title"] == "Story 24" and second["next_offset"] == "40"
    last = api.inline_answer(api.inline_query(READER_ID, "", offset="40"))
    assert len(last["results"]) == 5 and "next_offset" not in last  # no more pages
    odd = api.inline_answer(api.inline_query(READER_ID, '" OR * NEAR(', offset="x9"))
    assert odd["results"] == [] and "next_offset" not in odd
    assert api.failed_calls() == []  # every answer came in time


def test_inline_answers_speak_the_user_s_language(start_bot, api):
    bot = start_bot()
    bot.services.library.add("Bridge opens", ARTICLE_TEXT, url="https://news.example.org/b")
    api.user_languages[READER_ID] = "de"
    answer = api.inline_answer(api.inline_query(READER_ID, "bridge"))
    assert answer["button"]["text"] == "📝 In Briefbot öffnen"
    message = answer["results"][0]["input_message_content"]["message_text"]
    assert '<a href="https://news.example.org/b">Quelle</a>' in message
