"""Feeds: added by admins, polled with ETag, each entry stored once."""

from __future__ import annotations

import pytest

from briefbot.bot.context import BriefbotContext
from briefbot.bot.handlers.feeds import poll_all
from tests.conftest import ADMIN_ID, READER_ID, Talk, texts
from tests.pages import Site


@pytest.fixture
def site():
    server = Site()
    yield server
    server.stop()


@pytest.mark.slow
def test_feed_with_two_entries_then_three(start_bot, api, site):
    bot = start_bot(allow_private_urls=True)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    [added] = admin.say(f"/feed add {site.url('/feed.xml')}")
    assert "Following feed #1 <b>Westford Feed</b>: 2 new articles" in added.params["text"]
    titles = [a.title for a in bot.services.library.latest(10)]
    assert titles == ["Post 2", "Post 1"]  # oldest entry stored first
    assert bot.services.library.latest(1)[0].origin == "feed"
    assert "This is post 2" in bot.services.library.latest(1)[0].text  # the full page

    context = BriefbotContext(bot.application)
    bot.call(poll_all(context))  # nothing changed: a 304, nothing stored
    assert site.not_modified == 1 and bot.services.library.count() == 2

    site.feed_entries = 3
    bot.call(poll_all(context))
    assert [a.title for a in bot.services.library.latest(10)] == ["Post 3", "Post 2", "Post 1"]
    bot.call(poll_all(context))
    assert bot.services.library.count() == 3

    listing = texts(admin.say("/feed list"))[0]
    assert "#1 Westford Feed" in listing and "checked" in listing
    assert "Already following" in texts(admin.say(f"/feed add {site.url('/feed.xml')}"))[0]
    assert "Removed feed #1" in texts(admin.say("/feed remove 1"))[0]
    assert "No feeds yet" in texts(admin.say("/feed list"))[0]
    assert bot.services.library.count() == 3  # removing a feed keeps its articles


@pytest.mark.slow
def test_bad_feeds_and_non_admins(start_bot, api, site):
    bot = start_bot(allow_private_urls=True)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    assert "not a feed (text/html)" in texts(admin.say(f"/feed add {site.url('/article')}"))[0]
    assert "not found (404)" in texts(admin.say(f"/feed add {site.url('/nothing.xml')}"))[0]
    assert "No feeds yet" in texts(admin.say("/feed list"))[0]
    assert "Use /feed add URL" in texts(admin.say("/feed"))[0]
    assert "no feed #7" in texts(admin.say("/feed remove 7"))[0]
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "only the bot's admins" in texts(reader.say(f"/feed add {site.url('/feed.xml')}"))[0]
    assert bot.services.library.count() == 0
