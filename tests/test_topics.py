"""Articles by meaning and chat topics, through the running bot and the Bot API stand-in, with
the real bundled sentence encoder: /search by meaning, the Related button, /topics, digests
that keep to a chat's topics, and /next within them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from briefbot.articles.meaning import Meanings
from briefbot.bot.callbacks import Action, decode, encode
from briefbot.chats import ChatRef
from tests.conftest import GROUP_ID, READER_ID, Talk, buttons, texts

MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
MEMBER_ID, GROUP_ADMIN_ID = 501, 502

ARTICLES = {
    "United win the derby": (
        "Manchester United beat City two goals to one in a tense derby at Old Trafford on "
        "Sunday. Their striker scored twice in the second half as the home fans celebrated. "
        "The manager praised his players for their spirit after a difficult run of league "
        "results. The win lifts the club to fourth in the Premier League table, a point ahead "
        "of their rivals."
    ),
    "Alpine glaciers shrink to a record low": (
        "Alpine glaciers lost a record share of their ice this summer, scientists said on "
        "Monday. Warm temperatures and little winter snow left the ice exposed for months. "
        "Researchers warned that rising greenhouse gas emissions will speed up the melting. "
        "Several ski resorts have already closed slopes that relied on the ice, and valleys "
        "below worry about their water in dry years."
    ),
    "Central bank raises interest rates": (
        "The central bank raised interest rates by a quarter of a point to fight inflation. "
        "Mortgage holders will pay more each month as lenders pass on the increase. "
        "Economists expect one more rise before the end of the year, while shares fell "
        "slightly after the announcement and the currency gained against the dollar."
    ),
    "Striker signs for the champions": (
        "The champions have signed a young striker from a second division club for a record "
        "fee. The forward scored twenty goals last season and played for the national under "
        "twenty one team. He said he was proud to join the club and could not wait to play "
        "in front of the fans at the stadium next weekend."
    ),
}


def wait_for_vectors(meanings: Meanings, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while meanings.missing():
        assert time.monotonic() < deadline, "article vectors were not made"
        time.sleep(0.1)


def add_articles(bot, titles=tuple(ARTICLES)) -> None:
    library = bot.services.library
    bot.ids = {title: library.add(title, ARTICLES[title]).article.id for title in titles}
    bot.services.article_added()
    wait_for_vectors(bot.services.meanings)


def subscribe(bot, api, chat_ids) -> None:
    for chat_id in chat_ids:
        api.private_chat(chat_id)
        bot.services.chats.touch(ChatRef(chat_id, "private"))
        bot.services.chats.set_schedule(
            chat_id, digest_time="08:00", timezone="UTC", now=MORNING - timedelta(days=1)
        )


@pytest.fixture
def topic_bot(start_bot):
    bot = start_bot(schedule_digests=False, send_rate=500)
    add_articles(bot)
    return bot


@pytest.fixture
def reader(api):
    return Talk(api, api.private_chat(READER_ID), READER_ID)


def test_search_falls_back_to_meaning_when_no_word_matches(topic_bot, reader):
    [found] = reader.say("/search soccer match")
    text = found.params["text"]
    assert "closest in meaning" in text
    labels = [label for label, _ in buttons(found)]
    # The two football articles come before the others.
    assert {labels[0].split(" ", 1)[1], labels[1].split(" ", 1)[1]} == {
        "United win the derby",
        "Striker signs for the champions",
    }
    # Words still come first: an exact word finds its article, not its neighbours.
    [exact] = reader.say("/search glaciers")
    assert "closest in meaning" not in exact.params["text"]
    assert [label for label, _ in buttons(exact)] == [
        f"#{topic_bot.ids['Alpine glaciers shrink to a record low']} "
        "Alpine glaciers shrink to a record low"
    ]


def test_related_button_lists_the_nearest_articles(topic_bot, reader, api):
    derby = topic_bot.ids["United win the derby"]
    [card] = reader.say(f"/start a{derby}", replies=1)
    assert "United win the derby" in card.params["text"]
    mark = api.mark()
    reader.press(card.params["_message_id"], encode(Action.RELATED, derby))
    [related] = api.wait_for(mark, "sendMessage", chat_id=READER_ID)
    assert "Related to United win the derby" in related.params["text"]
    first_label, first_data = buttons(related)[0]
    assert "Striker signs for the champions" in first_label
    assert decode(first_data).action is Action.OPEN
    assert all(str(derby) != label.split(" ")[0][1:] for label, _ in buttons(related))
    # An article deleted meanwhile: a short notice, no list.
    topic_bot.services.library.delete(derby)
    [answer] = reader.press(card.params["_message_id"], encode(Action.RELATED, derby))
    assert "no longer" in answer.params["text"].lower()


@pytest.mark.slow
def test_topics_are_listed_added_muted_and_removed(topic_bot, reader):
    assert "follows no topics" in texts(reader.say("/topics"))[0]
    assert "Following “football”" in texts(reader.say("/topics add football"))[0]
    assert "Muted “interest rates”" in texts(reader.say("/topics mute interest rates"))[0]
    listing = texts(reader.say("/topics"))[0]
    assert "1. football" in listing and "2. 🔇 interest rates (muted)" in listing
    assert "There is no topic “7”" in texts(reader.say("/topics remove 7"))[0]
    assert "Topic “football” removed" in texts(reader.say("/topics remove 1"))[0]
    assert "1. 🔇 interest rates" in texts(reader.say("/topics"))[0]
    # Nonsense and hostile input: the usage, never an error.
    for bad in ("/topics frobnicate", "/topics add", '/topics add "*" ()', "/topics only maybe"):
        assert "/topics add climate change" in texts(reader.say(bad))[0]
    ref = ChatRef(READER_ID, "private")
    for n in range(19):  # with "interest rates", 20: the most a chat may have
        topic_bot.services.chats.add_topic(ref, f"subject{n}", muted=False, vector=None)
    assert "20 topics, the most" in texts(reader.say("/topics add one more"))[0]
    assert "Following “subject0”" in texts(reader.say("/topics add subject0"))[0]  # not new


def test_digest_keeps_to_the_chats_topics(start_bot, api):
    # "climate change" matches the glaciers by meaning (neither word is in the article),
    # "interest rates" the central bank by its words.
    bot = start_bot(schedule_digests=False, send_rate=500)
    subscribe(bot, api, [READER_ID, READER_ID + 1])
    follower = Talk(api, api.private_chat(READER_ID), READER_ID)
    follower.say("/topics add climate change")
    follower.say("/topics add interest rates")
    Talk(api, api.private_chat(READER_ID + 1), READER_ID + 1).say("/topics mute climate change")
    add_articles(bot)
    assert bot.call(bot.application.bot_data.scheduler.run_due(MORNING)).sent == 2
    follows = api.sent_to(READER_ID)[-1]["text"]
    assert "2 new articles" in follows
    assert "Alpine glaciers" in follows and "Central bank" in follows
    assert "United win the derby" not in follows and "Striker signs" not in follows
    mutes = api.sent_to(READER_ID + 1)[-1]["text"]
    assert "3 new articles" in mutes
    assert "Alpine glaciers" not in mutes


def test_a_digest_with_nothing_matching_follows_the_empty_digest_setting(start_bot, api):
    bot = start_bot(schedule_digests=False, send_rate=500, digest_empty_message=False)
    subscribe(bot, api, [READER_ID])
    Talk(api, api.private_chat(READER_ID), READER_ID).say("/topics add climate change")
    add_articles(bot, ["Central bank raises interest rates"])
    counts = bot.call(bot.application.bot_data.scheduler.run_due(MORNING))
    assert counts.sent == 0
    record = bot.services.deliveries.get(READER_ID, "2026-11-27")
    assert record.reason == "nothing new"


@pytest.mark.slow
def test_next_and_prev_keep_to_the_topics_when_asked(topic_bot, reader):
    ids = topic_bot.ids
    reader.say(f"/start a{ids['United win the derby']}")
    # Every article, by default.
    assert "Alpine glaciers" in texts(reader.say("/next"))[0]
    assert "Central bank" in texts(reader.say("/next"))[0]
    assert "Striker signs" in texts(reader.say("/next"))[0]
    reader.say("/topics add climate change")
    reader.say("/topics add interest rates")
    assert "keep to this chat's topics" in texts(reader.say("/topics only on"))[0]
    assert "Central bank" in texts(reader.say("/prev"))[0]
    assert "Alpine glaciers" in texts(reader.say("/prev"))[0]
    assert "first article" in texts(reader.say("/prev"))[0]
    assert "Central bank" in texts(reader.say("/next"))[0]
    assert "caught up" in texts(reader.say("/next"))[0]
    assert "show every article" in texts(reader.say("/topics only off"))[0]
    assert "Striker signs" in texts(reader.say("/next"))[0]


def test_only_group_admins_change_a_groups_topics(topic_bot, api):
    group = api.group_chat(GROUP_ID, "Readers", admins={GROUP_ADMIN_ID})
    member = Talk(api, group, MEMBER_ID)
    assert "only this group's admins" in texts(member.say("/topics add football"))[0]
    assert "follows no topics" in texts(member.say("/topics"))[0]  # anyone may look
    admin = Talk(api, group, GROUP_ADMIN_ID)
    assert "Following “football”" in texts(admin.say("/topics add football"))[0]
    # The group becomes a supergroup: its topics go with it.
    chats = topic_bot.services.chats
    assert chats.migrate(GROUP_ID, GROUP_ID - 1_000_000_000_000)
    assert [t.words for t in chats.topics(GROUP_ID - 1_000_000_000_000)] == ["football"]
    assert chats.topics(GROUP_ID) == []
