"""OPML: an admin's file of feeds is followed feed by feed, and /feed export round-trips."""

from __future__ import annotations

import time

import pytest

from briefbot.articles.opml import read_opml
from tests.conftest import ADMIN_ID, READER_ID, Talk, texts
from tests.pages import Site


@pytest.fixture
def site():
    server = Site()
    yield server
    server.stop()


def opml(*outlines: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head><title>Mine</title>'
        f"</head><body>{''.join(outlines)}</body></opml>"
    ).encode()


def outline(url: str, title: str = "A feed") -> str:
    return f'<outline type="rss" text="{title}" title="{title}" xmlUrl="{url}"/>'


def send_file(api, admin: Talk, name: str, content: bytes, replies: int = 1) -> list:
    mark = api.mark()
    api.send_document(admin.chat, admin.user_id, name, content)
    return api.wait_for(mark, "sendMessage", replies, chat_id=admin.chat_id, timeout=60)


def test_an_opml_file_is_followed_feed_by_feed_and_exported_back(start_bot, api, site):
    bot = start_bot(allow_private_urls=True)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    admin.say(f"/feed add {site.url('/feed.xml')}")
    file = opml(
        outline(site.url("/feed.xml"), "Followed already"),
        '<outline text="News">',  # a folder, as feed readers nest them
        outline(site.url("/other-feed.xml"), "Other &amp; more"),
        outline(site.url("/other-feed.xml"), "The same feed twice"),
        outline(site.url("/article"), "A web page"),
        outline(site.url("/nothing.xml"), "Gone"),
        "</outline>",
        outline("ftp://example.org/feed", "Not a web link"),
    )
    [answer] = send_file(api, admin, "feeds.opml", file)
    text = answer.params["text"]
    lines = text.split("\n")
    assert lines[0] == "📡 Feeds of feeds.opml: 1 added, 1 already followed, 2 refused."
    assert "/article: that link is not a feed (text/html)" in lines[1]
    assert "/nothing.xml: the page was not found (404)" in lines[2]
    assert lines[3] == "ℹ️ 1 entry had no web address and was skipped."
    followed = {feed.url for feed in bot.services.feeds.all()}
    assert followed == {site.url("/feed.xml"), site.url("/other-feed.xml")}

    mark = api.mark()
    admin.say("/feed export", replies=0)
    deadline = time.monotonic() + 30
    while not api.documents and time.monotonic() < deadline:
        time.sleep(0.05)
    [exported] = api.documents
    assert exported["filename"] == "briefbot-feeds.opml"
    assert exported["caption"].startswith("📡 2 feeds, as OPML")
    assert set(read_opml(exported["content"]).urls) == followed
    assert api.failed_calls(mark) == []

    # The exported file, sent back, adds nothing and says so.
    [again] = send_file(api, admin, "briefbot-feeds.opml", exported["content"])
    assert again.params["text"].startswith("📡 Feeds of briefbot-feeds.opml: 0 added, 2 already")


@pytest.mark.slow
def test_files_that_are_not_opml_are_refused_clearly(start_bot, api, tmp_path):
    bot = start_bot()
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    cases = {
        "broken.opml": b"<opml><body><outline xmlUrl=",
        "feed.xml": b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
        "empty.opml": b"",
    }
    for name, content in cases.items():
        [answer] = send_file(api, admin, name, content)
        assert answer.params["text"].startswith(f"⚠️ Not added: {name}: ")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY s SYSTEM "file://{secret}">]>'
        '<opml><body><outline xmlUrl="https://example.org/&s;"/></body></opml>'
    ).encode()
    [answer] = send_file(api, admin, "xxe.opml", xxe)
    assert "top secret" not in answer.params["text"]
    assert bot.services.feeds.all() == []
    assert "send me an .opml file" in texts(admin.say("/feed import"))[0]
    assert "No feeds yet" in texts(admin.say("/feed export"))[0]
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "only the bot's admins" in texts(reader.say("/feed export"))[0]


@pytest.mark.slow
def test_a_thousand_feeds_are_bounded_with_a_clear_reply(start_bot, api):
    bot = start_bot()  # private addresses refused: each feed is checked without a fetch
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    file = opml(*(outline(f"http://127.0.0.1:9/feed{n}.xml") for n in range(1000)))
    [answer] = send_file(api, admin, "big.opml", file)
    lines = answer.params["text"].split("\n")
    assert lines[0] == "📡 Feeds of big.opml: 0 added, 0 already followed, 100 refused."
    assert "private or local addresses" in lines[1]
    assert lines[6] == "… and 95 more."
    assert lines[7] == (
        "ℹ️ The file lists 1,000 feeds; I take 100 at a time, so 900 were left out. "
        "Send them in another file."
    )
    assert bot.services.feeds.all() == []


def test_feed_import_in_reply_to_a_file(start_bot, api, site):
    bot = start_bot(allow_private_urls=True)
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    api.files["opml1"] = opml(outline(site.url("/feed.xml")))
    document = {"file_id": "opml1", "file_unique_id": "uopml1", "file_name": "list.opml"}
    sent = {"message_id": 999, "date": int(time.time()), "chat": admin.chat, "document": document}
    [answer] = admin.say("/feed import", reply_to_message=sent)
    assert answer.params["text"].startswith("📡 Feeds of list.opml: 1 added")
    assert [feed.url for feed in bot.services.feeds.all()] == [site.url("/feed.xml")]


def test_read_opml_keeps_each_feed_once_in_order():
    found = read_opml(
        opml(
            outline("https://a.example/feed"),
            outline("https://b.example/rss"),
            outline("https://a.example/feed"),
            outline("javascript:alert(1)"),
            '<outline text="folder only"/>',
        )
    )
    assert found.urls == ["https://a.example/feed", "https://b.example/rss"]
    assert found.invalid == 1
