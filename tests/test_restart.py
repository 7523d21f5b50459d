"""State survives restarts, and updates sent while the bot was down are answered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ARTICLE_TEXT, READER_ID, Talk, texts


def test_position_survives_restart_and_pending_updates_are_processed(start_bot, api):
    bot = start_bot()
    for title in ("Alpha", "Bravo", "Charlie"):
        bot.services.library.add(title, f"{ARTICLE_TEXT} {title}.")
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)
    assert "<b>Charlie</b>" in texts(reader.say("/summary"))[0]
    assert "<b>Bravo</b>" in texts(reader.say("/prev"))[0]
    assert "<b>Alpha</b>" in texts(reader.say("/prev"))[0]
    bot.stop()

    mark = api.mark()
    api.send_text(reader.chat, READER_ID, "/next")  # arrives while the bot is down
    start_bot()
    [pending_reply] = api.wait_for(mark, "sendMessage", chat_id=READER_ID)
    assert "<b>Bravo</b>" in pending_reply.params["text"]
    assert "<b>Bravo</b>" in texts(reader.say("/summary"))[0]


def _run_bot(cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "briefbot", "run"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


@pytest.mark.slow
def test_briefbot_run_as_a_newcomer_would(tmp_path: Path, api):
    """`briefbot run` with only a token and an API URL: samples, /start, restart."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")}
    env |= {
        "BRIEFBOT_TOKEN": api.token,
        "BRIEFBOT_API_URL": api.url,
        "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
        "BRIEFBOT_MODEL_THREADS": "2",
        "BRIEFBOT_INSTANCE_LEASE_SECONDS": "6",
    }
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)

    mark = api.mark()
    process = _run_bot(tmp_path, env)
    try:
        api.wait_for(mark, "setMyCommands", timeout=120)
        welcome, hint, card = reader.say("/start", replies=3)
        assert "Briefbot" in welcome.params["text"]
        # No admin yet: the newcomer learns their user id and how to become one.
        assert f"briefbot admins add {READER_ID}" in hint.params["text"]
        assert "min read" in card.params["text"]
        first = texts(reader.say("/prev"))[0]
        assert "<b>" in first and "\n\n" in first
        added = subprocess.run(
            [sys.executable, "-m", "briefbot", "admins", "add", str(READER_ID)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0 and "now a bot admin" in added.stdout, added.stderr
        assert added.stderr == ""  # no log lines around a command's answer
        # The running bot knows within seconds: the reader may now add articles.
        deadline = time.monotonic() + 30
        while "Sorry" in texts(reader.say("/admins"))[0]:
            assert time.monotonic() < deadline, "the new admin was not picked up"
            time.sleep(0.5)
    finally:
        code, stderr = _stop(process)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert api.token.split(":")[1] not in stderr
    assert (tmp_path / "data" / "briefbot.db").exists()

    mark = api.mark()
    process = _run_bot(tmp_path, env | {"BRIEFBOT_LOG_FORMAT": "json"})
    try:
        api.wait_for(mark, "setMyCommands", timeout=120)
        # Same position as before the restart, and the samples were not loaded twice.
        assert texts(reader.say("/summary"))[0] == first
    finally:
        code, stderr = _stop(process)
    assert code == 0, stderr
    # Structured logs: every line one JSON object with time, level, logger and message.
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert entries and all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
    assert any("ready" in e["message"] for e in entries)
    assert api.token.split(":")[1] not in stderr
