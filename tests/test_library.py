"""Admins add articles by sending text; everyone else is refused politely."""

from __future__ import annotations

from tests.conftest import ADMIN_ID, ARTICLE_TEXT, GROUP_ID, READER_ID, Talk, texts


def test_admin_adds_article_by_private_text(start_bot, api):
    bot = start_bot()
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    added, card = admin.say(f"Westford bridge opens\n{ARTICLE_TEXT}", replies=2)
    [article] = bot.services.library.latest(1)
    assert added.params["text"] == f"✅ Added as #{article.id}."
    assert article.title == "Westford bridge opens" and article.added_by == ADMIN_ID
    assert "<b>Westford bridge opens</b>" in card.params["text"]
    assert "footbridge" in card.params["text"].split("\n\n", 1)[1]

    [duplicate] = admin.say(f"Same text, new title\n{ARTICLE_TEXT}")
    assert f"Already stored as #{article.id}" in duplicate.params["text"]
    assert bot.services.library.count() == 1


def test_add_command_works_in_groups_for_admins_only(start_bot, api):
    bot = start_bot()
    group = api.group_chat(GROUP_ID)
    [refusal] = Talk(api, group, READER_ID).say(f"/add Title\n{ARTICLE_TEXT}")
    assert "only the bot's admins" in refusal.params["text"]
    assert bot.services.library.count() == 0
    added, _card = Talk(api, group, ADMIN_ID).say(
        f"/add@briefbot_test_bot Title\n{ARTICLE_TEXT}", 2
    )
    assert "Added as #" in added.params["text"]
    assert bot.services.library.latest(1)[0].title == "Title"


def test_bad_articles_are_explained_and_not_stored(start_bot, api):
    bot = start_bot(max_article_chars=1_000)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    assert "title on the first line" in texts(admin.say("just one line"))[0]
    assert "too short" in texts(admin.say("Title\nA few words only."))[0]
    assert "title on the first line" in texts(admin.say("/add"))[0]
    long_text = "Long title\n" + ("word " * 1200)
    assert "too long" in texts(admin.say(long_text))[0]
    assert bot.services.library.count() == 0


def test_html_in_articles_is_escaped(start_bot, api):
    bot = start_bot()
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    body = ARTICLE_TEXT + " Readers wrote <script>alert(1)</script> & asked for <b>more</b>."
    _added, card = admin.say(f"Bridges <b>&</b> rivers\n{body}", replies=2)
    # The stand-in refuses unparseable HTML, so arriving at all means it was escaped.
    assert "<b>Bridges &lt;b&gt;&amp;&lt;/b&gt; rivers</b>" in card.params["text"]
    assert bot.services.library.count() == 1


def test_non_admin_private_text_gets_a_hint(start_bot, api):
    bot = start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [hint] = reader.say(f"My article\n{ARTICLE_TEXT}")
    assert "/summary" in hint.params["text"]
    assert bot.services.library.count() == 0
    [hint] = reader.say(
        "",
        sticker={
            "file_id": "x",
            "file_unique_id": "y",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        },
    )
    assert "/latest" in hint.params["text"]


def test_long_article_card_fits_in_one_message(start_bot, api):
    bot = start_bot()
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    # One endless "sentence" with markup characters: the card must still fit 4096 characters
    # after escaping, or the stand-in refuses it like Telegram does.
    body = "Tom & Jerry <3 the news " * 6_000
    bot.services.library.add("Endless", body, added_by=ADMIN_ID)
    [card] = admin.say("/summary")
    assert len(card.params["text"]) <= 4096 + 200  # escaped entities count once on Telegram
    assert card.params["text"].rstrip().endswith("…")
    assert "&amp;" in card.params["text"]
