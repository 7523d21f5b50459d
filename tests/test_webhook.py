"""Webhook mode: Telegram posts updates over HTTP; /health; secrets; retried deliveries."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from briefbot.chats import ChatRef
from briefbot.coordination.schema import UpdateRow
from tests.botapi import FakeBotApi
from tests.conftest import ARTICLE_TEXT, READER_ID, Store, Talk, texts


def command_update(update_id: int, message_id: int, chat: dict, command: str) -> dict:
    """An update with a command from the reader, as Telegram posts it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": READER_ID, "is_bot": False, "first_name": "R"},
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _base(bot) -> str:
    return bot.webhook_url.rsplit("/", 1)[0]


def test_webhook_mode_serves_readers_and_reports_health(start_bot, api: FakeBotApi):
    bot = start_bot(webhook=True)
    bot.services.library.add("Bridge", ARTICLE_TEXT)
    assert api.webhook is not None and api.webhook["url"] == bot.webhook_url
    secret = api.webhook["secret_token"]
    assert len(secret) >= 32 and api.token not in secret  # derived, not the token itself
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [card] = reader.say("/summary")
    assert "<b>Bridge</b>" in card.params["text"]
    status, health = _get(_base(bot) + "/health")
    assert status == 200
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["articles"] == 1 and health["instances_alive"] == 1
    assert sum(health["updates"].values()) >= 1  # the /summary above, stored


def test_webhook_refuses_wrong_secret_and_malformed_bodies(start_bot, api: FakeBotApi):
    bot = start_bot(webhook=True)
    reader = api.private_chat(READER_ID)
    mark = api.mark()
    update = command_update(9001, 1, reader, "/start")
    assert api.post_to_webhook(update, secret="guessed") == 403
    assert api.post_to_webhook(update, secret="") == 403
    request = urllib.request.Request(
        bot.webhook_url,
        data=b"{not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": api.webhook["secret_token"]},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
    time.sleep(0.5)
    assert api.calls_since(mark, "sendMessage") == []
    # With the right secret the same update is handled.
    assert api.post_to_webhook(update) == 200
    api.wait_for(mark, "sendMessage", chat_id=READER_ID)


def test_a_delivery_telegram_retries_is_handled_once(start_bot, api: FakeBotApi):
    start_bot(webhook=True)
    reader = api.private_chat(READER_ID)
    update = command_update(777001, 5, reader, "/help")
    mark = api.mark()
    # Telegram retries when it did not see our answer; each retry carries the same update_id.
    statuses = [api.post_to_webhook(update) for _ in range(3)]
    assert statuses == [200, 200, 200]
    api.wait_for(mark, "sendMessage", chat_id=READER_ID)
    time.sleep(1.0)
    assert len(api.calls_since(mark, "sendMessage")) == 1


def test_updates_stored_before_a_restart_are_handled_after_it(
    start_bot, api: FakeBotApi, settings_factory
):
    # An update stored in the inbox but never handled (the process died right after
    # answering 200) is handled by the next start, once, in the chat's language.
    bot = start_bot(webhook=True)
    bot.stop()
    reader = api.private_chat(READER_ID)
    store = Store.open(settings_factory().database_url)
    store.chats.touch(ChatRef(READER_ID, "private"))
    store.chats.set_language(READER_ID, "ru")
    store.inbox.record([command_update(4242001, 8, reader, "/help")])
    store.close()
    mark = api.mark()
    bot = start_bot(webhook=True)
    [reply] = api.wait_for(mark, "sendMessage", chat_id=READER_ID)
    assert "/summary" in texts([reply])[0] and "Что я умею" in texts([reply])[0]
    time.sleep(1.0)
    assert len(api.calls_since(mark, "sendMessage")) == 1
    # Two lives may have had it in hand: the one that stopped, and the one that handled it.
    with bot.services.db.transaction() as session:
        row = session.get(UpdateRow, 4242001)
        assert row is not None and (row.state, row.attempts) == ("done", 2)
