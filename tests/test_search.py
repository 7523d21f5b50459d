"""/search: full-text search over titles and texts, on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

import pytest

from briefbot.articles.search import Query
from briefbot.bot.callbacks import Action, decode, encode
from tests.conftest import ARTICLE_TEXT, READER_ID, Talk, buttons, texts

ARTICLES = [
    ("Bridge opens at last", ARTICLE_TEXT),
    (
        "Market hall reopens",
        "The old market hall in the town centre reopened on Monday after a year of repairs. "
        "Traders returned to their stalls and the café on the first floor served its first "
        "customers before eight. The council paid for a new roof and new heating, and says "
        "the hall will stay open late on Fridays through the summer.",
    ),
    (
        "Новый мост открыли",
        "Новый пешеходный мост через реку открыли в понедельник после двух лет работ. Мост "
        "соединяет старый город с вокзалом и сокращает путь на десять минут. Строительство "
        "обошлось городу примерно в два миллиона евро. Власти ждут пять тысяч пешеходов в день.",
    ),
    (
        "新桥开通",
        "韦斯特福德镇周一开通了一座新的人行桥。这座桥连接老城和火车站，步行时间缩短了十分钟。"
        "工程耗资约两百万欧元，历时两年。市政府预计每天将有五千人通过这座桥。"
        "新桥晚上会亮灯，方便夜间通行的居民。",
    ),
]


@pytest.fixture
def library_bot(start_bot):
    bot = start_bot()
    ids = [bot.services.library.add(title, text).article.id for title, text in ARTICLES]
    return bot, ids


def titles(card) -> list[str]:
    return [label for label, data in buttons(card) if decode(data).action is Action.OPEN]


@pytest.mark.slow
def test_search_by_word_phrase_and_script(library_bot, api):
    _bot, ids = library_bot
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [found] = reader.say("/search footbridge")
    assert found.params["text"] == "🔎 <b>footbridge</b>: 1 article"
    assert titles(found) == [f"#{ids[0]} Bridge opens at last"]
    # Diacritics and case do not matter; a phrase must be whole and in order.
    assert titles(reader.say("/search CAFE")[0]) == [f"#{ids[1]} Market hall reopens"]
    assert titles(reader.say('/search "market hall"')[0]) == [f"#{ids[1]} Market hall reopens"]
    [none] = reader.say('/search "hall market"')
    assert none.params["text"].startswith("🔎 Nothing found for <b>&quot;hall market&quot;</b>")
    assert titles(reader.say("/search мост")[0]) == [f"#{ids[2]} Новый мост открыли"]
    assert titles(reader.say("/search 新桥")[0]) == [f"#{ids[3]} 新桥开通"]
    assert titles(reader.say("/search 火车站")[0]) == [f"#{ids[3]} 新桥开通"]
    # A word in the title ranks above the same word in a text.
    ranked = titles(reader.say("/search bridge")[0])
    assert ranked[0] == f"#{ids[0]} Bridge opens at last"
    # No article has every word: those with some are shown, and the card says so.
    [some] = reader.say("/search footbridge zebra")
    assert "No article holds every word" in some.params["text"]
    assert titles(some) == [f"#{ids[0]} Bridge opens at last"]
    # A result opens its card.
    [card] = reader.press(found.params["_message_id"], encode(Action.OPEN, ids[0]), "sendMessage")
    assert card.params["text"].startswith("<b>Bridge opens at last</b>")
    assert api.failed_calls() == []


@pytest.mark.parametrize(
    "query",
    [
        'NEAR(bridge market) OR "',
        "* AND -OR ^ :title: {x} (y",
        '"""',
        "'; DROP TABLE articles; --",
        "\\' \\\\ :: && || !! <-> & | !",
        "x" * 4000,
        "🌉 " * 300,
        "\u0000\u202e bridge",
    ],
)
def test_hostile_queries_never_raise(library_bot, api, query):
    bot, _ids = library_bot
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [answer] = reader.say(f"/search {query}")
    assert answer.params["text"].startswith("🔎")
    assert bot.services.library.count() == len(ARTICLES)
    assert api.failed_calls() == []


def test_results_come_in_pages(start_bot, api):
    bot = start_bot()
    for n in range(23):
        bot.services.library.add(f"Harbour report {n}", f"{ARTICLE_TEXT} Harbour item {n}.")
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [first] = reader.say("/search harbour")
    assert first.params["text"] == "🔎 <b>harbour</b>: 23 articles · page 1 of 3"
    assert len(titles(first)) == 10
    labels = [label for label, _ in buttons(first)]
    assert labels[-1] == "More ▶" and "◀ Better matches" not in labels
    message_id = first.params["_message_id"]
    [second] = reader.press(message_id, encode(Action.FOUND, 1), "editMessageText")
    assert second.params["text"].endswith("page 2 of 3")
    assert not set(titles(second)) & set(titles(first))
    [third] = reader.press(message_id, encode(Action.FOUND, 2), "editMessageText")
    assert len(titles(third)) == 3
    assert [label for label, _ in buttons(third)][-1] == "◀ Better matches"
    assert "Use /search" in texts(reader.say("/search"))[0]


def test_the_index_follows_every_write(library_bot, api):
    bot, ids = library_bot
    library = bot.services.library
    assert library.search("bridge").articles[0].id == ids[0]
    library.set_title(ids[1], "Covered market bridge")
    assert {a.id for a in library.search("covered").articles} == {ids[1]}
    assert library.search("reopens").total == 0  # the old title is gone from the index
    library.delete(ids[0])
    assert ids[0] not in {a.id for a in library.search("footbridge bridge").articles}
    assert library.search("footbridge").total == 0


def test_queries_keep_words_and_phrases():
    query = Query.parse('Bridge "new  Footbridge" 新桥 naïve **')
    assert query.groups == (("new", "footbridge"), ("bridge",), ("新", "桥"), ("naive",))
    assert not Query.parse('"" * ( ) -- ::')
    assert len(Query.parse(" ".join(f"w{n}" for n in range(100))).groups) == 16
