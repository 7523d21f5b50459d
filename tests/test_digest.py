"""Digest delivery through the running bot and the Bot API stand-in, on a controlled clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from briefbot.bot.digest.compose import DigestItem, compose
from briefbot.bot.digest.sender import NO_ANSWER
from briefbot.chats import NOT_SENT_AGAIN, ChatRef, ClaimEntry, DeliveryState
from briefbot.chats.schema import DigestDeliveryRow
from tests.botapi import check_html
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, GROUP_ID, READER_ID, Talk, buttons, texts

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 08:00 UTC, a Friday


@pytest.fixture
def digest_bot(start_bot):
    def start(**overrides):
        values = {"send_rate": 500, "request_timeout": 1.0} | overrides
        bot = start_bot(schedule_digests=False, **values)
        bot.scheduler = bot.application.bot_data.scheduler
        bot.run = lambda now, **kw: bot.call(bot.scheduler.run_due(now, **kw))
        return bot

    return start


def subscribe(bot, api, chat_ids, *, at="08:00", zone="UTC", since=LONG_AGO):
    for chat_id in chat_ids:
        if chat_id > 0:
            api.private_chat(chat_id)
        else:
            api.group_chat(chat_id)
        bot.services.chats.touch(ChatRef(chat_id, "private" if chat_id > 0 else "supergroup"))
        bot.services.chats.set_schedule(chat_id, digest_time=at, timezone=zone, now=since)


def add_articles(bot, titles, url=None):
    return [
        bot.services.library.add(title, f"{ARTICLE_TEXT} About {title}.", url=url).article
        for title in titles
    ]


def test_digest_content_buttons_and_once_a_day(digest_bot, api):
    bot = digest_bot()
    subscribe(bot, api, [READER_ID])
    add_articles(bot, ["Bridge", "Market", "Station"], url="https://example.org/news?a=1&b=2")

    assert bot.run(MORNING - timedelta(minutes=1)).sent == 0  # not yet
    counts = bot.run(MORNING)
    assert counts.sent == 1
    [digest] = api.sent_to(READER_ID)
    text = digest["text"]
    assert text.startswith("📰 Your digest for Friday, 27 November · 3 new articles")
    assert text.index("1. Station") < text.index("2. Market") < text.index("3. Bridge")
    assert "Read the article" in text and "footbridge" in text.lower()
    labels = [b["text"] for row in digest["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["📖 1", "📖 2", "📖 3"]

    # Later the same morning: nothing more.
    assert bot.run(MORNING + timedelta(hours=1)).sent == 0
    # Next morning, nothing new: no message, a record that says why.
    assert bot.run(MORNING + timedelta(days=1)).sent == 0
    record = bot.services.deliveries.get(READER_ID, "2026-11-28")
    assert (record.state, record.reason) == (DeliveryState.SKIPPED, "nothing new")
    # One new article: the next digest has only that one.
    add_articles(bot, ["Harbour"])
    assert bot.run(MORNING + timedelta(days=2)).sent == 1
    assert "1 new article" in api.sent_to(READER_ID)[-1]["text"]
    assert "Harbour" in api.sent_to(READER_ID)[-1]["text"]

    # The buttons open the full card.
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    mark = api.mark()
    api.press(READER_ID, READER_ID, digest["message_id"], buttons_data(digest)[0])
    [card] = api.wait_for(mark, "sendMessage", chat_id=READER_ID)
    assert "<b>Station</b>" in card.params["text"]
    assert "<b>Station</b>" in texts(reader.say("/summary"))[0]


def buttons_data(message):
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


def test_nothing_new_message_when_configured(digest_bot, api):
    bot = digest_bot(digest_empty_message=True)
    subscribe(bot, api, [READER_ID])
    assert bot.run(MORNING).sent == 1
    assert "Nothing new today" in api.sent_to(READER_ID)[0]["text"]


def test_each_chat_in_its_own_zone_across_a_dst_change(digest_bot, api):
    bot = digest_bot(digest_empty_message=True)
    zones = {1: "Europe/Berlin", 2: "America/New_York", 3: "Asia/Tokyo", 4: "Asia/Kolkata"}
    # 27-31 March 2026: Europe moves its clocks on the 29th, New York already did.
    now, step = datetime(2026, 3, 27, tzinfo=UTC), timedelta(minutes=10)
    for chat_id, zone in zones.items():
        subscribe(bot, api, [chat_id], at="07:30", zone=zone, since=now)
    first_seen: dict[int, list[datetime]] = {chat_id: [] for chat_id in zones}
    while now < datetime(2026, 3, 31, tzinfo=UTC):
        before = api.sent_counts()
        bot.run(now)
        after = api.sent_counts()
        for chat_id in zones:
            first_seen[chat_id] += [now] * (after[chat_id] - before[chat_id])
        now += step
    from zoneinfo import ZoneInfo

    for chat_id, zone in zones.items():
        local = [moment.astimezone(ZoneInfo(zone)) for moment in first_seen[chat_id]]
        assert len({m.date() for m in local}) == len(local) >= 3  # one per local day
        for moment in local:
            assert (moment.hour, moment.minute) in {(7, 30), (7, 40)}


def test_overlapping_runs_send_each_digest_once(digest_bot, api):
    bot = digest_bot()
    chats = list(range(100, 160))
    subscribe(bot, api, chats)
    add_articles(bot, ["Only news"])

    async def two_runs():
        return await asyncio.gather(bot.scheduler.run_due(MORNING), bot.scheduler.run_due(MORNING))

    first, second = bot.call(two_runs())
    assert first.sent + second.sent == len(chats)
    assert api.sent_counts() == {chat_id: 1 for chat_id in chats}


def test_flood_limits_errors_and_blocked_chats(digest_bot, api):
    bot = digest_bot()
    chats = [11, 12, 13, 14, 15, 16, GROUP_ID]
    subscribe(bot, api, chats)
    add_articles(bot, ["News"])
    api.fail_chat(11, 429, "Too Many Requests: retry after 1", retry_after=1)
    api.fail_chat(12, 502, "Bad Gateway", times=2)
    api.fail_chat(13, 504, "Gateway Timeout", hang=1.5)  # the bot waits 1 s: a timeout
    api.fail_chat(14, 403, "Forbidden: bot was blocked by the user", times=5)
    api.fail_chat(15, 400, "Bad Request: chat not found", times=5)

    counts = bot.run(MORNING)
    assert (counts.sent, counts.failed) == (5, 2)
    # 13's answer never came: the digest may have arrived, so it is not sent again.
    assert api.sent_counts() == {11: 1, 12: 1, 16: 1, GROUP_ID: 1}
    deliveries = bot.services.deliveries
    assert deliveries.get(13, "2026-11-27").reason == NO_ANSWER
    assert deliveries.get(12, "2026-11-27").attempts == 3
    for blocked in (14, 15):
        record = deliveries.get(blocked, "2026-11-27")
        assert record.state == DeliveryState.FAILED and record.reason.startswith("unsubscribed")
        assert not bot.services.chats.get(blocked).subscribed
    assert all(
        deliveries.get(c, "2026-11-27").state == DeliveryState.SENT for c in (11, 12, 13, 16)
    )

    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    [stats] = admin.say("/stats")
    assert "5 sent, 0 skipped, 2 failed" in stats.params["text"]
    assert "Sorry" in texts(Talk(api, api.private_chat(READER_ID), READER_ID).say("/stats"))[0]


@pytest.mark.slow
def test_two_thousand_chats_no_loss(digest_bot, api):
    bot = digest_bot(send_rate=5000)
    chats = list(range(10_000, 12_000))
    subscribe(bot, api, chats)
    add_articles(bot, ["Big day"])
    counts = bot.run(MORNING)
    assert counts.sent == 2000 and counts.failed == 0
    assert api.sent_counts() == {chat_id: 1 for chat_id in chats}
    assert api.rejected_for_rate == 0


def test_missed_digests_within_grace_are_sent_late_others_skipped(digest_bot, api):
    bot = digest_bot(digest_grace_minutes=120)
    subscribe(bot, api, [21], at="08:00")
    subscribe(bot, api, [22], at="05:00")
    add_articles(bot, ["While you slept"])
    counts = bot.run(MORNING + timedelta(minutes=90), resume=True)
    assert counts.sent == 1 and counts.skipped == 1
    assert api.sent_counts() == {21: 1}
    record = bot.services.deliveries.get(22, "2026-11-27")
    assert record.state == DeliveryState.SKIPPED and "270 min late" in record.reason


def claim(bot, chat_id, article_ids):
    [delivery] = bot.services.deliveries.claim_many(
        [ClaimEntry(chat_id, "2026-11-27", article_ids=tuple(article_ids))]
    )
    return delivery


def test_interrupted_fan_out_resumes_without_repeats(digest_bot, api):
    bot = digest_bot()
    subscribe(bot, api, [31, 32, 33])
    [article] = add_articles(bot, ["Resumed"])
    deliveries = bot.services.deliveries
    # As a crash would leave them: 31 claimed, not sent; 32 in flight (marked, its answer not
    # recorded); 33 fully sent.
    claim(bot, 31, [article.id])
    in_flight = claim(bot, 32, [article.id])
    deliveries.start_part(in_flight.id, 1)
    done = claim(bot, 33, [article.id])
    deliveries.start_part(done.id, 1)
    deliveries.part_sent(done.id)
    assert deliveries.get(32, "2026-11-27").in_flight
    # ... by an instance that is gone now.
    with bot.services.db.transaction() as session:
        session.execute(update(DigestDeliveryRow).values(owner="crashed-instance"))

    bot.run(MORNING + timedelta(minutes=5), resume=True)
    # The part in flight counts as sent: never twice, so it may be the one lost.
    assert api.sent_counts() == {31: 1}
    assert deliveries.get(31, "2026-11-27").state == DeliveryState.SENT
    resumed = deliveries.get(32, "2026-11-27")
    assert resumed.state == DeliveryState.SENT and resumed.reason == NOT_SENT_AGAIN
    assert not resumed.in_flight


def test_a_digest_of_a_live_instance_is_not_taken_over(digest_bot, api):
    bot = digest_bot()
    subscribe(bot, api, [36])
    [article] = add_articles(bot, ["Mine"])
    delivery = claim(bot, 36, [article.id])
    bot.services.deliveries.start_part(delivery.id, 1)  # this instance is sending it now
    bot.run(MORNING + timedelta(minutes=5), resume=True)
    assert api.sent_counts() == {}
    assert bot.services.deliveries.get(36, "2026-11-27").in_flight


def test_split_at_article_boundaries_with_valid_html():
    from briefbot.articles import Article
    from tests.conftest import ARTICLE_TEXT as BODY

    items = [
        DigestItem(
            Article(
                n,
                f"Story {n} <&> " + "long title " * 25,
                BODY,
                "https://e.org/?q=<x>",
                "h",
                None,
                LONG_AGO,
                "test",
            ),
            ("Summary sentence with <b>markup</b> & more. " * 20),
        )
        for n in range(1, 11)
    ]
    messages = compose(date(2026, 11, 27), items)
    assert len(messages) > 1
    numbers = []
    for message in messages:
        assert len(message.text) <= 4096
        plain = check_html(message.text)
        numbers += [
            int(label["text"].split()[1])
            for row in message.keyboard.to_dict()["inline_keyboard"]
            for label in row
        ]
        for n in range(1, 11):
            if f"<b>{n}. Story {n} " in message.text:
                assert f"Story {n} " in plain
    assert numbers == list(range(1, 11))  # every article once, in order, never cut in two


@pytest.mark.slow
def test_digest_commands(digest_bot, api):
    bot = digest_bot()
    bot.scheduler.clock = lambda: MORNING
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "No digest in this chat" in texts(reader.say("/digest"))[0]
    status = texts(reader.say("/digest 07:30 europe/berlin"))[0]
    assert "07:30 Europe/Berlin, every day" in status
    assert "Next: Saturday, 28 November at 07:30" in status
    status = texts(reader.say("/digest 06:15"))[0]
    assert "06:15 Europe/Berlin" in status
    assert "on weekdays" in texts(reader.say("/digest weekdays"))[0]
    assert "Next: Monday, 30 November at 06:15" in texts(reader.say("/digest"))[0]
    assert "every day" in texts(reader.say("/digest daily"))[0]
    assert (
        "I don't know the time zone “Mars/Olympus”"
        in texts(reader.say("/digest 07:00 Mars/Olympus"))[0]
    )
    assert "couldn't read the time “7am”" in texts(reader.say("/digest 7am"))[0]
    assert "couldn't read the time “25:00”" in texts(reader.say("/digest 25:00"))[0]
    state = bot.services.chats.get(READER_ID)
    assert (state.digest_time, state.timezone) == ("06:15", "Europe/Berlin")
    assert "only the bot's admins" in texts(reader.say("/digest now"))[0]
    assert "No digest" in texts(reader.say("/digest off"))[0]
    assert not bot.services.chats.get(READER_ID).subscribed

    group = api.group_chat(GROUP_ID, admins={ADMIN_ID + 1})
    member = Talk(api, group, READER_ID)
    assert "only this group's admins" in texts(member.say("/digest 09:00"))[0]
    assert "09:00 UTC" in texts(Talk(api, group, ADMIN_ID + 1).say("/digest 09:00"))[0]


def test_digest_now_for_admins(digest_bot, api):
    bot = digest_bot()
    add_articles(bot, ["Preview one", "Preview two"])
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    [preview] = admin.say("/digest now")
    assert "2 new articles" in preview.params["text"]
    assert len(buttons(preview)) == 2
    # A preview changes nothing: the scheduled digest still goes out.
    assert bot.services.deliveries.get(ADMIN_ID, "2026-11-27") is None
