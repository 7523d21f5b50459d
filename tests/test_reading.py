"""Reading in a private chat: every command and button, over real HTTP."""

from __future__ import annotations

import pytest

from briefbot.bot.callbacks import Action, encode
from tests.conftest import ARTICLE_TEXT, READER_ID, Talk, buttons, texts


@pytest.fixture
def library(start_bot):
    bot = start_bot()
    library = bot.services.library
    titles = ["Footbridge opens in Westford", "Second story", "Third story"]
    articles = [
        library.add(title, f"{ARTICLE_TEXT} Story number {n}.", origin="test").article
        for n, title in enumerate(titles)
    ]
    return bot, articles


@pytest.fixture
def reader(api):
    return Talk(api, api.private_chat(READER_ID), READER_ID)


def test_start_welcomes_subscribes_and_shows_latest(library, reader):
    bot, articles = library
    welcome, card = reader.say("/start", replies=2)
    assert "Briefbot" in welcome.params["text"]
    # The welcome says when the digest comes and how to change it.
    assert "morning digest at 08:00 UTC, every day" in welcome.params["text"]
    assert "/digest 07:30 Europe/Berlin" in welcome.params["text"]
    assert "<b>Third story</b>" in card.params["text"]
    assert "No time to read? Get a summary." in card.params["text"]
    assert [label for label, _ in buttons(card)] == ["◀ Previous", "📝 Get a summary", "Next ▶"]
    bot.settle()
    state = bot.services.chats.get(READER_ID)
    assert state.subscribed and state.current_article_id == articles[2].id


@pytest.mark.slow
def test_a_shared_link_opens_its_article(library, reader):
    bot, articles = library
    # t.me/<bot>?start=a<ID> arrives as "/start a<ID>": that article's card, no welcome.
    [card] = reader.say(f"/start a{articles[0].id}")
    assert "<b>Footbridge opens in Westford</b>" in card.params["text"]
    assert [label for label, _ in buttons(card)] == ["◀ Previous", "📝 Get a summary", "Next ▶"]
    bot.settle()
    assert bot.services.chats.get(READER_ID).current_article_id == articles[0].id
    assert "<b>Second story</b>" in texts(reader.say("/next"))[0]  # reading goes on from it
    # Unknown and deleted articles: said so, and the newest instead.
    bot.services.library.delete(articles[1].id)
    for payload in ("a999999", f"a{articles[1].id}"):
        notice, card = reader.say(f"/start {payload}", replies=2)
        assert "no longer in the library" in notice.params["text"]
        assert "<b>Third story</b>" in card.params["text"]
    # Anything else after /start is the plain /start.
    welcome, _card = reader.say("/start a12x", replies=2)
    assert "Briefbot" in welcome.params["text"]


def test_summary_next_prev_walk_the_library(library, reader):
    _, _articles = library
    [summary] = reader.say("/summary")
    text = summary.params["text"]
    assert "<b>Third story</b>" in text
    # The summary is made of sentences from the article itself.
    assert "Westford" in text.split("\n\n", 1)[1]

    assert "caught up" in texts(reader.say("/next"))[0]
    assert "<b>Second story</b>" in texts(reader.say("/prev"))[0]
    assert "<b>Footbridge opens in Westford</b>" in texts(reader.say("/prev"))[0]
    assert "first article" in texts(reader.say("/prev"))[0]
    assert "<b>Second story</b>" in texts(reader.say("/next"))[0]


def test_summary_lengths(library, reader):
    short = texts(reader.say("/summary short"))[0].split("\n\n", 1)[1]
    long = texts(reader.say("/summary long"))[0].split("\n\n", 1)[1]
    assert len(short) < len(long)
    assert "Unknown summary length" in texts(reader.say("/summary huge"))[0]


def test_summary_is_cached_after_first_request(library, reader):
    bot, articles = library
    library, model = bot.services.library, bot.services.owner.name
    assert library.summary(articles[2].content_hash, model, "standard") is None
    first = texts(reader.say("/summary"))[0]
    cached = library.summary(articles[2].content_hash, model, "standard")
    assert cached and cached.split()[0] in first
    mark = reader.api.mark()
    assert texts(reader.say("/summary"))[0] == first
    # A cached summary needs no "typing" indicator: the model did not run.
    assert not reader.api.calls_since(mark, "sendChatAction")


def test_buttons_navigate_by_editing_the_card(library, reader, api):
    _, articles = library
    _welcome, card = reader.say("/start", replies=2)
    message_id = card.params["_message_id"]

    [edit] = reader.press(message_id, encode(Action.SUMMARY, articles[2].id), "editMessageText")
    assert "<b>Third story</b>" in edit.params["text"] and "Westford" in edit.params["text"]
    assert "No time to read" not in edit.params["text"]

    [edit] = reader.press(message_id, encode(Action.PREV, articles[2].id), "editMessageText")
    assert "<b>Second story</b>" in edit.params["text"]
    assert api.messages[(READER_ID, message_id)]["text"].startswith("Second story")

    [answer] = reader.press(message_id, encode(Action.NEXT, articles[2].id))
    assert "caught up" in answer.params["text"]
    [answer] = reader.press(message_id, encode(Action.PREV, articles[0].id))
    assert "first article" in answer.params["text"]


def test_the_card_moves_forward_and_never_offers_the_same_thing(library, reader, api):
    # The article, then its summary, then the longer summary: each press shows something new,
    # and no press makes a Bot API call that fails.
    _, articles = library
    article = articles[2]
    _welcome, card = reader.say("/start", replies=2)
    message_id = card.params["_message_id"]
    mark = api.mark()

    [edit] = reader.press(message_id, encode(Action.SUMMARY, article.id), "editMessageText")
    assert [label for label, _ in buttons(edit)] == [
        "◀ Previous",
        "📤 Share",
        "Next ▶",
        "➕ Longer summary",
        "🧭 Related",
    ]
    standard = edit.params["text"].split("\n\n", 1)[1]

    [edit] = reader.press(message_id, encode(Action.LONG, article.id), "editMessageText")
    assert [label for label, _ in buttons(edit)] == [
        "◀ Previous",
        "📤 Share",
        "Next ▶",
        "🧭 Related",
    ]
    assert len(edit.params["text"].split("\n\n", 1)[1]) > len(standard)

    # Pressed again (a stale button, or a double tap): a notice, and no edit at all.
    edits = len(api.calls_since(mark, "editMessageText"))
    for _ in range(2):
        [answer] = reader.press(message_id, encode(Action.LONG, article.id))
        assert answer.params["text"] == "That is already on the card."
    assert len(api.calls_since(mark, "editMessageText")) == edits
    assert api.failed_calls(mark) == []


def test_an_article_with_a_source_offers_it_on_the_summary_card(start_bot, reader):
    bot = start_bot()
    bot.services.library.add("Linked story", ARTICLE_TEXT, url="https://news.example.org/a")
    [card] = reader.say("/summary")
    labels = [label for label, _ in buttons(card)]
    assert labels == [
        "◀ Previous",
        "📤 Share",
        "Next ▶",
        "➕ Longer summary",
        "🔗 Read the article",
        "🧭 Related",
    ]
    markup = card.params["reply_markup"]["inline_keyboard"]
    assert markup[1][1]["url"] == "https://news.example.org/a"
    # Share: Telegram's share dialog with the link that opens this card (a deep link).
    [article] = bot.services.library.latest(1)
    share = markup[0][1]["url"]
    assert share.startswith("https://t.me/share/url?url=https%3A%2F%2Ft.me%2F")
    assert f"briefbot_test_bot%3Fstart%3Da{article.id}&text=Linked+story" in share


def test_pressing_summary_twice_is_harmless(library, reader, api):
    _, articles = library
    _, card = reader.say("/start", replies=2)
    message_id = card.params["_message_id"]
    data = encode(Action.SUMMARY, articles[2].id)
    reader.press(message_id, data, "editMessageText")
    mark = api.mark()
    [answer] = reader.press(message_id, data)
    # The card shows the summary already: the press gets a notice, and nothing is edited.
    assert "already" in answer.params["text"]
    assert not api.calls_since(mark, "editMessageText")
    assert not api.calls_since(mark, "sendMessage")


def test_latest_lists_newest_first_and_opens(library, reader):
    _, articles = library
    [listing] = reader.say("/latest")
    labels = buttons(listing)
    assert [label for label, _ in labels] == [
        f"#{articles[2].id} Third story",
        f"#{articles[1].id} Second story",
        f"#{articles[0].id} Footbridge opens in Westford",
    ]
    mark = reader.api.mark()
    reader.api.press(READER_ID, READER_ID, listing.params["_message_id"], labels[2][1])
    [card] = reader.api.wait_for(mark, "sendMessage", chat_id=READER_ID)
    assert "<b>Footbridge opens in Westford</b>" in card.params["text"]
    # Opening an article makes it the current one.
    assert "<b>Second story</b>" in texts(reader.say("/next"))[0]


def test_latest_shows_at_most_ten(start_bot, reader):
    bot = start_bot()
    for n in range(12):
        bot.services.library.add(f"Story {n}", f"{ARTICLE_TEXT} Number {n}.")
    [listing] = reader.say("/latest")
    assert len(buttons(listing)) == 10
    assert buttons(listing)[0][0].endswith("Story 11")


def test_help_lists_commands(library, reader):
    [help_message] = reader.say("/help")
    for command in ("/start", "/summary", "/next", "/prev", "/latest", "/subscribe"):
        assert command in help_message.params["text"]
    assert "/add" not in help_message.params["text"]


def test_subscribe_and_unsubscribe(library, reader):
    bot, _ = library
    assert "Subscribed" in texts(reader.say("/subscribe"))[0]
    assert "already subscribed" in texts(reader.say("/subscribe"))[0]
    bot.settle()
    assert bot.services.chats.get(READER_ID).subscribed
    assert "Unsubscribed" in texts(reader.say("/unsubscribe"))[0]
    assert "not subscribed" in texts(reader.say("/unsubscribe"))[0]
    assert not bot.services.chats.get(READER_ID).subscribed


def test_command_menu_registered(library, api):
    admin_menu = api.commands.get('{"chat_id": 4242, "type": "chat"}')
    assert admin_menu is None  # the admin never opened a chat with the bot: refused, not fatal
    menu = api.commands['{"type": "default"}']
    assert [c["command"] for c in menu] == [
        "start",
        "summary",
        "next",
        "prev",
        "latest",
        "search",
        "topics",
        "length",
        "digest",
        "subscribe",
        "unsubscribe",
        "language",
        "help",
    ]


@pytest.mark.slow
def test_chat_summary_length(library, reader, api):
    bot, _ = library
    assert "standard (about three sentences)" in texts(reader.say("/length"))[0]
    standard = texts(reader.say("/summary"))[0].split("\n\n", 1)[1]
    assert "now short (one sentence)" in texts(reader.say("/length short"))[0]
    assert bot.services.chats.get(READER_ID).summary_length == "short"
    short = texts(reader.say("/summary"))[0].split("\n\n", 1)[1]
    assert len(short) < len(standard)
    prev_short = texts(reader.say("/prev"))[0].split("\n\n", 1)[1]
    assert prev_short.count(". ") == 0  # one sentence on navigation too
    # A one-off length does not change the chat's default.
    assert len(texts(reader.say("/summary long"))[0]) > len(short)
    assert bot.services.chats.get(READER_ID).summary_length == "short"
    assert "Unknown summary length" in texts(reader.say("/length tiny"))[0]

    group = api.group_chat(-100777, admins=set())
    assert "only this group's admins" in texts(Talk(api, group, READER_ID).say("/length long"))[0]
