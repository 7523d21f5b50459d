"""What a bot meets on first contact with real Bot API servers: failures at start-up, floods,
forum topics, groups that become supergroups, being removed, malformed answers, a rejected
token and a second poller."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from briefbot.bot.callbacks import Action, encode
from briefbot.bot.ratelimit import Buckets
from briefbot.bot.updates import FLOOD_BURST, FloodGate, Verdict
from briefbot.bot.views import flooded
from briefbot.chats import ChatRef
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, READER_ID, Talk, buttons, texts

MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def wait_until(condition, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- start-up ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_start_up_waits_out_a_failing_bot_api(start_bot, api, caplog):
    caplog.set_level(logging.INFO)
    api.fail_next("getMe", 502, "Bad Gateway", times=4)
    api.fail_next("setMyCommands", 500, "Internal Server Error")
    bot = start_bot()
    bot.services.library.add("Story", ARTICLE_TEXT)
    wait_until(lambda: '{"type": "default"}' in api.commands, what="the command menu")
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "<b>Story</b>" in texts(reader.say("/summary"))[0]
    waits = [r for r in caplog.records if "is not answering" in r.getMessage()]
    assert waits and not any(r.exc_info for r in waits)  # one line each, no traceback


def test_a_bot_api_without_command_menus_is_no_obstacle(start_bot, api, caplog):
    caplog.set_level(logging.WARNING)
    api.fail_next("setMyCommands", 404, "Not Found: method not found", times=50)
    start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "/summary" in texts(reader.say("/help"))[0]
    [warning] = [r for r in caplog.records if "command menu was not registered" in r.getMessage()]
    assert warning.exc_info is None


# -- errors -----------------------------------------------------------------------------------


def test_the_error_handler_never_raises_on_malformed_answers(start_bot, api, caplog):
    caplog.set_level(logging.ERROR)
    bot = start_bot()
    bot.services.library.add("Story", ARTICLE_TEXT)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    # The answer to /summary, and then the error notice, come back as garbage.
    api.fail_next_raw("sendMessage", b"<html>502 Bad Gateway</html>", times=2)
    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/summary")
    api.wait_for(mark, "sendMessage", 2)
    api.fail_next_raw("sendMessage", b'{"ok": true, "result": "not a message"}', times=2)
    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/summary")
    api.wait_for(mark, "sendMessage", 2)
    assert "<b>Story</b>" in texts(reader.say("/summary"))[0]  # still serving
    bot.settle()
    uncaught = [r for r in caplog.records if "while handling the error" in r.getMessage()]
    assert uncaught == []


# -- floods -----------------------------------------------------------------------------------


def test_flood_gate_budget_and_memory():
    gate = FloodGate(per_minute=60)
    verdicts = [gate.admit(1, 0.0) for _ in range(FLOOD_BURST + 3)]
    assert verdicts[:FLOOD_BURST] == [Verdict.ADMIT] * FLOOD_BURST
    assert verdicts[FLOOD_BURST:] == [Verdict.DROP_AND_WARN, Verdict.DROP, Verdict.DROP]
    assert gate.admit(1, 1.0) is Verdict.ADMIT  # one a second comes back
    assert gate.admit(2, 1.0) is Verdict.ADMIT  # other users are not touched
    # Buckets of users gone quiet are dropped: memory follows the active users.
    buckets = Buckets(10, 1.0)
    for user in range(1_000):
        buckets.get(user, 0.0).try_take(0.0)
    assert len(buckets) == 1_000
    buckets.get(0, 100.0)
    assert len(buckets) == 1


@pytest.mark.slow
def test_a_flood_from_one_chat_stalls_nobody(start_bot, api):
    bot = start_bot(send_rate=30)
    for n in range(3):
        bot.services.library.add(f"Story {n}", f"{ARTICLE_TEXT} Number {n}.")
    flooder = Talk(api, api.private_chat(READER_ID), READER_ID)
    # Other readers, each asking once (Telegram paces each chat to about a message a second).
    others = [Talk(api, api.private_chat(uid), uid) for uid in range(900, 905)]
    [card] = flooder.say("/summary")  # cached from now on
    message_id = card.params["_message_id"]

    mark = api.mark()
    started = time.monotonic()
    for n in range(300):
        api.send_text(flooder.chat, READER_ID, "/summary" if n % 2 else f"hello {n}")
    for _ in range(5):  # presses in the middle of the flood
        api.press(READER_ID, READER_ID, message_id, encode(Action.PREV, card_article(card)))
    answered = [other.say("/summary")[0] for other in others]
    wait_until(lambda: not api.pending_updates(), what="the flood to be read")
    # The gate lets a burst through, then refills at the user's rate while the flood is read.
    refilled = bot.services.settings.user_messages_per_minute / 60 * (time.monotonic() - started)
    bot.settle(timeout=60)
    time.sleep(2.0)
    to_flooder = [
        c for c in api.calls_since(mark, "sendMessage") if c.params["chat_id"] == READER_ID
    ]
    notices = [c for c in to_flooder if c.params["text"] == flooded()]
    assert len(notices) == 1  # one "slow down", not minutes of queued replies
    assert len(to_flooder) <= FLOOD_BURST + 2 + int(refilled)
    assert api.late_answers() == 0  # every press answered within Telegram's window
    assert api.failed_calls(mark) == []
    # Nobody waits behind the flood: the others were answered while the flooder's few
    # replies were still going out at their chat's pace (bench/flood.py has the timings).
    assert all("<b>" in reply.params["text"] for reply in answered)
    assert max(reply.at for reply in answered) < to_flooder[-1].at


def card_article(card) -> int:
    return int(buttons(card)[0][1].rsplit(":", 1)[1])


@pytest.mark.slow
def test_a_press_behind_a_slow_queue_is_answered_in_time(start_bot, api):
    bot = start_bot()
    bot.services.library.add("Story", ARTICLE_TEXT)
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    [card] = reader.say("/summary")
    answers = bot.application.bot_data.answers
    answers.after = 0.5  # what 8 s are to Telegram's 15 s
    api.send_delay = 0.4  # every reply takes a while: the chat's queue is slow
    mark = api.mark()
    for _ in range(4):
        api.send_text(reader.chat, READER_ID, "/help")
    api.press(
        READER_ID, READER_ID, card.params["_message_id"], encode(Action.LONG, card_article(card))
    )
    [answer] = api.wait_for(mark, "answerCallbackQuery", timeout=30)
    bot.settle(timeout=60)
    helps = api.calls_since(mark, "sendMessage")
    assert len(helps) == 4 and answer.at < helps[-1].at  # answered before its turn came
    assert api.late_answers() == 0 and api.failed_calls(mark) == []


# -- forum topics -----------------------------------------------------------------------------


def test_every_answer_goes_to_the_topic_that_asked(start_bot, api):
    bot = start_bot(schedule_digests=False)
    article = bot.services.library.add("Topic news", ARTICLE_TEXT).article
    forum = api.group_chat(-100800, "Forum", admins={ADMIN_ID}, forum=True)
    in_topic = api.topic(-100800, 7)
    admin = Talk(api, forum, ADMIN_ID)
    for command in (
        "/latest",
        "/articles",
        f"/delete {article.id}",
        "/digest now",
        "/summary",
        "/help",
        "/nonsense@briefbot_test_bot",
        "/stats",
    ):
        replies = admin.say(command, **in_topic)
        assert all(r.params.get("message_thread_id") == 7 for r in replies), command
    assert api.failed_calls() == []

    # The digest goes to the topic where /subscribe was sent.
    admin.say("/subscribe", **in_topic)
    scheduler = bot.application.bot_data.scheduler
    bot.services.library.add("Fresh", f"{ARTICLE_TEXT} Fresh.")
    tomorrow = datetime.now(UTC).replace(hour=8, minute=0) + timedelta(days=1)
    bot.call(scheduler.run_due(tomorrow))
    [digest] = api.sent_to(-100800)[-1:]
    assert "Your digest" in digest["text"] and digest["message_thread_id"] == 7

    # The topic is gone: the next digest goes to the main chat.
    api.close_topic(-100800, 7)
    bot.services.library.add("Fresher", f"{ARTICLE_TEXT} Fresher.")
    bot.call(scheduler.run_due(tomorrow + timedelta(days=1)))
    [digest] = api.sent_to(-100800)[-1:]
    assert "Your digest" in digest["text"] and "message_thread_id" not in digest
    assert bot.services.chats.get(-100800).digest_thread_id is None


# -- groups that become supergroups, and the bot's membership ---------------------------------


def test_a_group_that_becomes_a_supergroup_keeps_its_settings(start_bot, api):
    bot = start_bot(schedule_digests=False)
    bot.services.library.add("Story", ARTICLE_TEXT)
    group = api.group_chat(-555, "Club", admins={ADMIN_ID}, kind="group")
    admin = Talk(api, group, ADMIN_ID)
    admin.say("/digest 07:15 Europe/Paris")
    admin.say("/length short")
    api.migrate(-555, -1000555, ADMIN_ID)
    wait_until(lambda: bot.services.chats.get(-555) is None, what="the move")
    moved = bot.services.chats.get(-1000555)
    assert moved.subscribed and moved.digest_time == "07:15" and moved.timezone == "Europe/Paris"
    assert moved.summary_length == "short"
    supergroup = Talk(api, api.chats[-1000555], ADMIN_ID)
    assert "07:15 Europe/Paris" in texts(supergroup.say("/digest"))[0]


def test_a_migration_learnt_from_a_failed_send_moves_the_chat_too(start_bot, api):
    bot = start_bot(schedule_digests=False)
    group = api.group_chat(-556, "Club", kind="group")
    bot.services.chats.touch(ChatRef(-556, "group"))
    bot.services.chats.set_schedule(-556, digest_time="08:00", now=MORNING - timedelta(days=1))
    bot.services.library.add("Story", ARTICLE_TEXT)
    api.group_chat(-1000556, group["title"])
    api.migrated[-556] = -1000556  # no service message reached the bot
    counts = bot.call(bot.application.bot_data.scheduler.run_due(MORNING))
    assert counts.sent == 1
    assert api.sent_counts() == {-1000556: 1}
    assert bot.services.chats.get(-556) is None and bot.services.chats.get(-1000556).subscribed


def test_removed_or_blocked_means_unsubscribed_at_once(start_bot, api):
    bot = start_bot()
    group = api.group_chat(-557, "Club", admins={ADMIN_ID})
    Talk(api, group, ADMIN_ID).say("/subscribe")
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    reader.say("/subscribe")
    mark = api.mark()
    api.member_update(group, ADMIN_ID, "member", "left")
    api.member_update(reader.chat, READER_ID, "member", "kicked")
    wait_until(
        lambda: (
            not bot.services.chats.get(-557).subscribed
            and not bot.services.chats.get(READER_ID).subscribed
        ),
        what="the unsubscriptions",
    )
    assert not api.calls_since(mark, "sendMessage")
    # Added to a group: a short hello.
    new_group = api.group_chat(-558, "New club")
    mark = api.mark()
    api.member_update(new_group, ADMIN_ID, "left", "member")
    [hello] = api.wait_for(mark, "sendMessage", chat_id=-558)
    assert "/subscribe" in hello.params["text"]


def test_only_the_update_types_the_bot_handles_are_asked_for(start_bot, api):
    bot = start_bot()
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    reader.say("/help")
    polls = [c for c in api.calls if c.method == "getUpdates"]
    assert polls and polls[-1].params["allowed_updates"] == [
        "message",
        "callback_query",
        "my_chat_member",
        "inline_query",
    ]
    edited = {"message_id": 1, "date": 0, "edit_date": 1, "chat": reader.chat, "text": "x"}
    ignored = api.push_update({"edited_message": edited})
    reader.say("/help")
    bot.settle()
    with bot.services.db.transaction() as session:
        from sqlalchemy import select

        from briefbot.coordination.schema import UpdateRow

        stored = set(session.scalars(select(UpdateRow.update_id)))
    assert ignored not in stored and stored


# -- the operator's first run -----------------------------------------------------------------


def _env(api, tmp_path: Path, **extra: str) -> dict[str, str]:
    return (
        {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")}
        | {
            "BRIEFBOT_TOKEN": api.token,
            "BRIEFBOT_API_URL": api.url,
            "BRIEFBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "BRIEFBOT_LOAD_SAMPLES": "false",
            "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
            "BRIEFBOT_INSTANCE_LEASE_SECONDS": "6",
        }
        | extra
    )


@pytest.mark.slow
def test_a_rejected_token_is_one_line_without_the_token(tmp_path: Path, api):
    env = _env(api, tmp_path, BRIEFBOT_TOKEN="999:wrong-token-value")
    result = subprocess.run(
        [sys.executable, "-m", "briefbot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("briefbot:")]
    assert errors == [
        f"briefbot: the Bot API server at {api.url} rejected the token (BRIEFBOT_TOKEN): "
        "check it with @BotFather"
    ]
    assert "Traceback" not in result.stderr and "wrong-token-value" not in result.stderr


@pytest.mark.slow
def test_a_second_poller_is_told_apart_and_stops(tmp_path: Path, api):
    env = _env(api, tmp_path)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    def run(log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as stream:
            return subprocess.Popen(
                [sys.executable, "-m", "briefbot", "run"], env=env, cwd=tmp_path, stderr=stream
            )

    mark = api.mark()
    first = run(logs[0])
    try:
        api.wait_for(mark, "setMyCommands", timeout=120)
        second = run(logs[1])
        assert second.wait(timeout=120) == 1
        reader = Talk(api, api.private_chat(READER_ID), READER_ID)
        assert "/summary" in texts(reader.say("/help"))[0]  # the first one still serves
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
    second_log = logs[1].read_text()
    assert "Another Briefbot instance is polling with this token" in second_log
    assert "Only one may poll: stopping this one" in second_log
    for log in logs:
        assert "Traceback" not in log.read_text()
    assert api.conflicts >= 1


@pytest.mark.slow
def test_health_says_whether_a_bot_runs_on_this_host(start_bot, settings_factory, tmp_path: Path):
    from tests.test_cli import run_cli

    env = {
        "BRIEFBOT_DATABASE_URL": settings_factory().database_url,
        "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
    }
    bot = start_bot()
    healthy = run_cli("health", env=env, cwd=tmp_path)
    assert healthy.returncode == 0 and "healthy: polling" in healthy.stdout
    bot.stop()
    unhealthy = run_cli("health", env=env, cwd=tmp_path)
    assert unhealthy.returncode == 1 and "unhealthy" in unhealthy.stdout
