"""Admins manage the library from Telegram; everyone else is refused and nothing changes."""

from __future__ import annotations

from briefbot.bot.callbacks import Action, encode
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, READER_ID, Talk, buttons, texts


def fill(bot, count: int) -> list:
    return [
        bot.services.library.add(f"Story {n}", f"{ARTICLE_TEXT} Number {n}.").article
        for n in range(count)
    ]


def test_articles_pages(start_bot, api):
    bot = start_bot()
    fill(bot, 23)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    [page] = admin.say("/articles")
    assert "23 articles, page 1 of 3" in page.params["text"]
    assert "#23 Story 22" in page.params["text"] and "#14 Story 13" in page.params["text"]
    assert [label for label, _ in buttons(page)] == ["Older ▶"]
    [edit] = admin.press(page.params["_message_id"], buttons(page)[0][1], "editMessageText")
    assert "page 2 of 3" in edit.params["text"] and "#13 Story 12" in edit.params["text"]
    labels = [b["text"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["◀ Newer", "Older ▶"]


def test_delete_needs_confirmation_by_an_admin(start_bot, api):
    bot = start_bot()
    first, second = fill(bot, 2)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    reader.say("/summary")  # the reader is on the newest article
    [question] = admin.say(f"/delete {second.id}")
    assert "This cannot be undone" in question.params["text"]
    message_id = question.params["_message_id"]
    # The confirmation button is checked when pressed: a reader cannot use it.
    mark = api.mark()
    api.press(ADMIN_ID, READER_ID, message_id, encode(Action.DELETE, second.id))
    [refusal] = api.wait_for(mark, "answerCallbackQuery")
    assert "only the bot's admins" in refusal.params["text"]
    assert bot.services.library.get(second.id) is not None
    [edit] = admin.press(message_id, encode(Action.DELETE, second.id), "editMessageText")
    assert f"Deleted #{second.id}" in edit.params["text"]
    assert bot.services.library.get(second.id) is None
    # The reader's place moves to what is left, and old buttons say the article is gone.
    assert "<b>Story 0</b>" in texts(reader.say("/summary"))[0]
    [answer] = admin.press(message_id, encode(Action.SUMMARY, second.id))
    assert "no longer available" in answer.params["text"]
    [kept] = admin.say(f"/delete {first.id}")
    [edit] = admin.press(
        kept.params["_message_id"], encode(Action.KEEP, first.id), "editMessageText"
    )
    assert f"Kept #{first.id}" in edit.params["text"]
    assert bot.services.library.count() == 1


def test_edit_title_and_usage_errors(start_bot, api):
    bot = start_bot()
    [article] = fill(bot, 1)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    [card] = admin.say(f"/edit {article.id} A better <title>")
    assert "<b>A better &lt;title&gt;</b>" in card.params["text"]
    assert bot.services.library.get(article.id).title == "A better <title>"
    assert "Use /edit ID" in texts(admin.say("/edit"))[0]
    assert "Use /delete ID" in texts(admin.say("/delete twelve"))[0]
    assert "no article #999" in texts(admin.say("/delete 999"))[0]
    assert "no article #999" in texts(admin.say("/edit 999 Title"))[0]


def test_admin_commands_are_refused_to_others(start_bot, api):
    bot = start_bot()
    [article] = fill(bot, 1)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    for command in ("/articles", f"/delete {article.id}", f"/edit {article.id} X", "/admins"):
        assert "only the bot's admins" in texts(reader.say(command))[0], command
    assert bot.services.library.get(article.id).title == "Story 0"
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    assert f"tg://user?id={ADMIN_ID}" in texts(admin.say("/admins"))[0]
