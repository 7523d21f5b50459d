"""The bot in a group: commands with and without @botname, buttons, admin rights."""

from __future__ import annotations

import pytest

from briefbot.bot.callbacks import Action, decode, encode
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, GROUP_ID, Talk, buttons, texts

MEMBER_ID = 501
GROUP_ADMIN_ID = 502
ANONYMOUS_ADMIN_BOT = 1087968824


@pytest.fixture
def group_bot(start_bot):
    bot = start_bot()
    for n, title in enumerate(["Older news", "Newer news"]):
        bot.services.library.add(title, f"{ARTICLE_TEXT} Item {n}.")
    return bot


@pytest.fixture
def group(api):
    return api.group_chat(GROUP_ID, "Readers", admins={GROUP_ADMIN_ID})


def test_commands_with_and_without_botname(group_bot, group, api):
    member = Talk(api, group, MEMBER_ID)
    assert "<b>Newer news</b>" in texts(member.say("/summary"))[0]
    assert "<b>Older news</b>" in texts(member.say("/prev@briefbot_test_bot"))[0]
    assert "first article" in texts(member.say("/prev@BriefBot_Test_Bot"))[0]
    [listing] = member.say("/latest@briefbot_test_bot")
    assert len(buttons(listing)) == 2


def test_group_position_is_shared_by_the_chat(group_bot, group, api):
    first, second = Talk(api, group, MEMBER_ID), Talk(api, group, GROUP_ADMIN_ID)
    first.say("/summary")
    assert "<b>Older news</b>" in texts(first.say("/prev"))[0]
    assert "<b>Newer news</b>" in texts(second.say("/next"))[0]


def test_buttons_work_in_groups(group_bot, group, api):
    member = Talk(api, group, MEMBER_ID)
    [card] = member.say("/summary")
    newer_id = next(decode(data).number for _, data in buttons(card) if decode(data))
    [edit] = member.press(
        card.params["_message_id"], encode(Action.PREV, newer_id), "editMessageText"
    )
    assert edit.params["chat_id"] == GROUP_ID and "<b>Older news</b>" in edit.params["text"]


def test_commands_for_other_bots_and_unknown_commands_are_ignored(group_bot, group, api):
    member = Talk(api, group, MEMBER_ID)
    mark = api.mark()
    api.send_text(group, MEMBER_ID, "/summary@some_other_bot")
    api.send_text(group, MEMBER_ID, "/weather")
    api.send_text(group, MEMBER_ID, "just chatting about the news")
    # Updates in one chat are handled in order, so once /help is answered the three
    # messages before it were handled too, and they produced nothing.
    [help_reply] = member.say("/help")
    assert texts(api.calls_since(mark, "sendMessage")) == [help_reply.params["text"]]
    assert "don't know /weather" in texts(member.say("/weather@briefbot_test_bot"))[0]


def test_only_group_admins_change_the_subscription(group_bot, group, api):
    chats = group_bot.services.chats
    member = Talk(api, group, MEMBER_ID)
    welcome, _card = member.say("/start", replies=2)
    assert "An admin of this group can /subscribe" in welcome.params["text"]
    assert "only this group's admins" in texts(member.say("/subscribe"))[0]
    assert not chats.get(GROUP_ID).subscribed

    assert "Subscribed" in texts(Talk(api, group, GROUP_ADMIN_ID).say("/subscribe"))[0]
    assert chats.get(GROUP_ID).subscribed
    assert "only this group's admins" in texts(member.say("/unsubscribe"))[0]
    assert chats.get(GROUP_ID).subscribed

    # An anonymous admin writes as the group itself.
    anonymous = Talk(api, group, ANONYMOUS_ADMIN_BOT)
    [reply] = anonymous.say("/unsubscribe", sender_chat=group)
    assert "Unsubscribed" in reply.params["text"]
    # Bot admins may manage any chat.
    assert "Subscribed" in texts(Talk(api, group, ADMIN_ID).say("/subscribe"))[0]


def test_group_start_by_admin_subscribes(group_bot, group, api):
    welcome, card = Talk(api, group, GROUP_ADMIN_ID).say("/start", replies=2)
    assert "This chat gets the morning digest at 08:00 UTC" in welcome.params["text"]
    assert "<b>Newer news</b>" in card.params["text"]
    assert group_bot.services.chats.get(GROUP_ID).subscribed


def test_every_command_and_button_in_a_group(group_bot, group, api):
    member = Talk(api, group, MEMBER_ID)
    assert "/summary" in texts(member.say("/help@briefbot_test_bot"))[0]
    [card] = member.say("/summary@briefbot_test_bot")
    assert "<b>Newer news</b>" in card.params["text"]
    assert "caught up" in texts(member.say("/next@briefbot_test_bot"))[0]
    [older] = member.say("/prev")
    assert "<b>Older news</b>" in older.params["text"]
    assert "<b>Newer news</b>" in texts(member.say("/next"))[0]

    ids = [decode(data).number for _, data in buttons(older) if decode(data)]  # not Share
    message_id = older.params["_message_id"]
    [edit] = member.press(message_id, encode(Action.NEXT, ids[0]), "editMessageText")
    assert "<b>Newer news</b>" in edit.params["text"]
    [edit] = member.press(message_id, encode(Action.PREV, ids[2] + 1), "editMessageText")
    assert "<b>Older news</b>" in edit.params["text"]
    [answer] = member.press(message_id, encode(Action.SUMMARY, ids[0]))
    assert answer.params["text"] == "That is already on the card."  # no edit that fails

    [listing] = member.say("/latest")
    mark = api.mark()
    api.press(GROUP_ID, MEMBER_ID, listing.params["_message_id"], buttons(listing)[1][1])
    [opened] = api.wait_for(mark, "sendMessage", chat_id=GROUP_ID)
    assert "<b>Older news</b>" in opened.params["text"]
