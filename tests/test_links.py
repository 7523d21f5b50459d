"""Admins add articles by sending links; pages are fetched from a local site for real."""

from __future__ import annotations

import asyncio

import pytest

from briefbot.articles import FetchLimits
from briefbot.articles import fetch as web
from tests.conftest import ADMIN_ID, READER_ID, Talk, texts
from tests.pages import Site


@pytest.fixture
def site():
    server = Site()
    yield server
    server.stop()


@pytest.fixture
def admin(api):
    return Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)


def link_message(url: str, text: str | None = None) -> dict:
    text = text or url
    start = text.index(url)
    return {"entities": [{"type": "url", "offset": start, "length": len(url)}]}, text


def say_link(talk: Talk, url: str, replies: int, text: str | None = None):
    extra, body = link_message(url, text)
    return talk.say(body, replies=replies, **extra)


def test_a_link_becomes_an_article(start_bot, site, admin):
    bot = start_bot(allow_private_urls=True)
    added, card = say_link(admin, site.url("/moved"), replies=2)
    [article] = bot.services.library.latest(1)
    assert added.params["text"] == f"✅ Added as #{article.id}."
    assert article.title == "Footbridge opens in Westford"
    assert article.url == site.url("/article")  # where the redirect led
    assert (article.author, article.published, article.origin) == (
        "Jane Doe",
        "2026-11-20",
        "link",
    )
    assert "ferry that ran until 1911" in article.text and "Copyright" not in article.text
    assert (
        "by Jane Doe" in card.params["text"]
        and "<b>Footbridge opens in Westford</b>" in card.params["text"]
    )
    [duplicate] = say_link(admin, site.url("/article"), replies=1)
    assert f"Already stored as #{article.id}" in duplicate.params["text"]


@pytest.mark.slow
def test_bad_links_are_explained_and_nothing_is_stored(start_bot, site, admin):
    bot = start_bot(allow_private_urls=True, max_page_bytes=1_000_000, fetch_timeout=5)
    cases = {
        "/missing": "not found (404)",
        "/paywall": "paywall or cookie wall",
        "/cookies": "paywall or cookie wall",
        "/short": "too little text",
        "/image.png": "not a web page (image/png)",
        "/huge": "larger than 1 MB",
        "/loop": "redirects in a loop",
    }
    for path, reason in cases.items():
        [answer] = say_link(admin, site.url(path), replies=1)
        assert reason in answer.params["text"], (path, answer.params["text"])
    [answer] = say_link(admin, "http://no-such-host.invalid/x", replies=1)
    assert "does not exist" in answer.params["text"]
    [answer] = say_link(admin, "http://127.0.0.1:1/closed", replies=1)
    assert "could not reach 127.0.0.1" in answer.params["text"]
    assert bot.services.library.count() == 0


def test_private_addresses_are_refused_by_default(start_bot, site, admin):
    bot = start_bot()
    [answer] = say_link(admin, site.url("/article"), replies=1)
    assert "private or local addresses" in answer.params["text"]
    assert site.hits == []  # not even one request went out
    assert bot.services.library.count() == 0


def test_several_links_in_one_message(start_bot, site, admin):
    bot = start_bot(allow_private_urls=True)
    first, second = site.url("/article"), site.url("/short")
    text = f"Two for the library: {first} and {second}"
    entities = [
        {"type": "url", "offset": text.index(first), "length": len(first)},
        {"type": "url", "offset": text.index(second), "length": len(second)},
    ]
    replies = admin.say(text, replies=3, entities=entities)
    assert "Added as #1" in replies[0].params["text"]
    assert "too little text" in texts(replies)[2]
    assert bot.services.library.count() == 1


def test_non_admins_cannot_add_links(start_bot, site, api):
    bot = start_bot(allow_private_urls=True)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [hint] = say_link(reader, site.url("/article"), replies=1)
    assert "/summary" in hint.params["text"]
    assert site.hits == [] and bot.services.library.count() == 0


def send_file(api, talk: Talk, name: str, content: bytes, replies: int, **extra):
    mark = api.mark()
    api.send_document(talk.chat, talk.user_id, name, content, **extra)
    return api.wait_for(mark, "sendMessage", replies, chat_id=talk.chat_id)


@pytest.mark.slow
def test_documents_become_articles(start_bot, api, admin):
    from tests.conftest import ARTICLE_TEXT
    from tests.pages import ARTICLE_HTML

    bot = start_bot()
    added, _card = send_file(
        api, admin, "bridge.md", f"# Bridge news\n\n{ARTICLE_TEXT}".encode(), 2
    )
    assert "Added as #1" in added.params["text"]
    assert bot.services.library.get(1).title == "Bridge news"
    _added, card = send_file(api, admin, "page.html", ARTICLE_HTML.encode(), 2)
    assert "<b>Footbridge opens in Westford</b>" in card.params["text"]
    assert bot.services.library.get(2).origin == "document"
    cases = {
        ("empty.txt", b"  \n"): "the document is empty",
        ("blob.txt", b"\x00\x01\x02binary"): "binary file",
        ("photo.jpg", b"\xff\xd8\xff"): "only .txt, .md, .html and .pdf",
        ("broken.pdf", b"%PDF-1.4 not really"): "PDF",
        ("one-line.txt", b"Only a title"): "title on the first line",
        ("tiny.html", b"<html><body><p>Hi</p></body></html>"): "too little text",
    }
    for (name, content), reason in cases.items():
        [answer] = send_file(api, admin, name, content, 1)
        assert reason in answer.params["text"], name
    [answer] = send_file(api, admin, "big.txt", b"x", 1, file_size=25 * 1024 * 1024)
    assert "larger than 20 MB" in answer.params["text"]
    assert bot.services.library.count() == 2


def test_forwarded_channel_post(start_bot, api, admin):
    from tests.conftest import ARTICLE_TEXT

    bot = start_bot()
    origin = {
        "type": "channel",
        "date": 1,
        "message_id": 321,
        "chat": {
            "id": -1009,
            "type": "channel",
            "title": "Westford Today",
            "username": "westford",
        },
    }
    _added, card = admin.say(f"Bridge opens\n{ARTICLE_TEXT}", replies=2, forward_origin=origin)
    article = bot.services.library.get(1)
    assert (article.title, article.url, article.author, article.origin) == (
        "Bridge opens",
        "https://t.me/westford/321",
        "Westford Today",
        "forward",
    )
    assert "by Westford Today" in card.params["text"]


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with these lines of text, written by hand."""
    from io import BytesIO

    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def test_pdf_documents(start_bot, api, admin):
    from briefbot.models.sentences import split_sentences
    from tests.conftest import ARTICLE_TEXT

    bot = start_bot()
    lines = ["Bridge opens in Westford", *split_sentences(ARTICLE_TEXT)]
    added, _card = send_file(api, admin, "bridge.pdf", make_pdf(lines), 2)
    assert "Added as #1" in added.params["text"]
    article = bot.services.library.get(1)
    assert article.title == "Bridge opens in Westford" and "footbridge" in article.text
    assert article.origin == "document"


def test_non_admins_cannot_add_documents_or_forwards(start_bot, api):
    from tests.conftest import ARTICLE_TEXT

    bot = start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [hint] = send_file(api, reader, "story.md", f"# Story\n\n{ARTICLE_TEXT}".encode(), 1)
    assert "/summary" in hint.params["text"]
    origin = {"type": "hidden_user", "date": 1, "sender_user_name": "Someone"}
    [hint] = reader.say(f"Story\n{ARTICLE_TEXT}", forward_origin=origin)
    assert "/summary" in hint.params["text"]
    assert bot.services.library.count() == 0


def test_a_name_is_resolved_once_and_the_connection_uses_that_address(site, monkeypatch):
    # A rebinding name answers the check with one address and the connection with another.
    # The fetch resolves once and connects to the address it checked.
    answers: list[str] = []

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        answers.append(host)
        return ["127.0.0.1"] if len(answers) == 1 else ["203.0.113.9"]

    monkeypatch.setattr(web, "resolve_host", rebinding_resolver)
    port = site.url("/").split(":")[2].split("/")[0]
    page = asyncio.run(
        web.fetch_page(f"http://news.rebind.test:{port}/article", FetchLimits(allow_private=True))
    )
    assert b"<html" in page.body.lower()
    assert answers == ["news.rebind.test"]  # one lookup; the system resolver never asked


def test_a_rebinding_name_cannot_reach_a_private_address(site, monkeypatch):
    # Checked as public, then (were it looked up again) private: the fetch goes to the
    # public address it checked, so the private site never sees a request.
    answers: list[str] = []

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        answers.append(host)
        return ["198.51.100.7"] if len(answers) == 1 else ["127.0.0.1"]

    monkeypatch.setattr(web, "resolve_host", rebinding_resolver)
    # 198.51.100.0/24 is documentation space: treat it as public for this check.
    monkeypatch.setattr(web, "_is_public", lambda address: True)
    port = site.url("/").split(":")[2].split("/")[0]
    hits_before = len(site.hits)
    with pytest.raises(web.FetchError, match=r"could not reach|took too long"):
        asyncio.run(
            web.fetch_page(f"http://news.rebind.test:{port}/article", FetchLimits(timeout=2))
        )
    assert answers == ["news.rebind.test"]
    assert len(site.hits) == hits_before
