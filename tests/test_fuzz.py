"""A thousand odd updates a bot meets in the wild: no handler may crash on any of them."""

from __future__ import annotations

import logging
import random
import time

import pytest

from briefbot.bot.callbacks import Action, encode
from tests.conftest import ADMIN_ID, ARTICLE_TEXT

UPDATES = 1_000
COMMANDS = [
    "/start",
    "/help",
    "/summary",
    "/next",
    "/prev",
    "/latest",
    "/subscribe",
    "/unsubscribe",
    "/digest",
    "/length",
    "/add",
    "/stats",
    "/articles",
    "/delete",
    "/edit",
    "/admins",
    "/feed",
    "/nonsense",
    "/start@briefbot_test_bot",
    "/summary@other_bot",
]
ODD_ARGUMENTS = [
    "",
    "short",
    "LONG",
    "huge",
    "-1",
    "0",
    "99999999999999999999",
    "off",
    "now",
    "weekdays",
    "07:30",
    "25:99",
    "07:30 Europe/Berlin",
    "07:30 Mars/Base",
    "ü" * 50,
    "🙂🙃",
    "\u202e",
    "#3",
    "add",
    "list",
    "remove x",
    "add not-a-url",
    "add ftp://x",
    "1 new title",
    "<b>bold</b> & co",
    "\x00",
    " " * 10,
    "a" * 4000,
]


def random_text(rng: random.Random) -> str:
    alphabet = "abc XYZ 123 .,;:!? <>&\"' ü ß 漢字 🙂 \n\t"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))


def make_update(rng: random.Random, message_ids: list[tuple[int, int]], chats: list[dict]) -> dict:
    chat = rng.choice(chats)
    user = {"id": rng.choice([ADMIN_ID, 1, 2, 3, 1087968824]), "is_bot": False, "first_name": "F"}
    kind = rng.random()
    base = {"message_id": rng.randint(1, 10**6), "date": int(time.time()), "chat": chat}
    if kind < 0.45:
        text = f"{rng.choice(COMMANDS)} {rng.choice(ODD_ARGUMENTS)}".rstrip()
        word = text.split(maxsplit=1)[0]
        message = base | {
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(word)}],
        }
        return {"message": message}
    if kind < 0.6:
        return {"message": base | {"from": user, "text": random_text(rng) or "x"}}
    if kind < 0.68:
        return {
            "edited_message": base
            | {
                "from": user,
                "text": "/summary",
                "edit_date": 1,
                "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
            }
        }
    if kind < 0.74:
        sticker = {
            "file_id": "s",
            "file_unique_id": "s",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        return {"message": base | {"from": user, "sticker": sticker}}
    if kind < 0.88:
        data = rng.choice(
            [
                encode(rng.choice(list(Action)), rng.randint(0, 50)),
                "garbage",
                "",
                "a1:",
                "a1:s:" + "9" * 12,
                "a1:d:1",
                "a1:g:999",
                "x" * 64,
            ]
        )
        chat_id, message_id = rng.choice(message_ids) if message_ids else (chat["id"], 1)
        query = {
            "id": str(rng.randint(1, 10**9)),
            "from": user,
            "chat_instance": "c",
            "data": data,
        }
        if rng.random() < 0.8:
            query["message"] = {
                "message_id": message_id,
                "date": 0 if rng.random() < 0.3 else int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
            }
        return {"callback_query": query}
    if kind < 0.94:
        channel = {"id": -1009999, "type": "channel", "title": "Chan"}
        return {
            "channel_post": {
                "message_id": 5,
                "date": int(time.time()),
                "chat": channel,
                "text": "/summary",
            }
        }
    member = {"status": "left", "user": {"id": 123456, "is_bot": True, "first_name": "B"}}
    old = {"status": "member", "user": {"id": 123456, "is_bot": True, "first_name": "B"}}
    return {
        "my_chat_member": {
            "chat": chat,
            "from": user,
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": member,
        }
    }


@pytest.mark.slow
def test_a_thousand_odd_updates_crash_nothing(start_bot, api, caplog):
    caplog.set_level(logging.ERROR)
    # The flood gate is tested on its own (test_first_contact.py); five users sending a
    # thousand updates would otherwise be slowed down, not fuzzed.
    bot = start_bot(send_rate=2000, user_messages_per_minute=0)
    for n in range(5):
        bot.services.library.add(f"Story {n}", f"{ARTICLE_TEXT} {n}.")
    # Many chats, so Telegram's per-chat pacing does not make the run slow.
    chats = [api.private_chat(uid) for uid in (ADMIN_ID, 1, 2, 3, *range(10, 50))]
    chats += [api.group_chat(-100 - n, admins={2}) for n in range(12)]
    rng = random.Random(20261127)
    for _ in range(UPDATES):
        ids = [(m["chat"]["id"], m["message_id"]) for m in api.sent[-50:]]
        api.push_update(make_update(rng, ids, chats))
        if rng.random() < 0.05:
            time.sleep(0.05)  # let some answers arrive, so buttons point at real messages
    processor = bot.application.update_processor
    deadline = time.monotonic() + 240
    quiet_since = None
    while time.monotonic() < deadline:
        busy = api.pending_updates() or processor.current_concurrent_updates
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the bot did not finish the updates in time")
    crashes = [r for r in caplog.records if r.name == "briefbot.bot.handlers.errors"]
    assert crashes == [], crashes[0].getMessage() if crashes else ""
    assert len(api.sent) > 300  # most updates got an answer
