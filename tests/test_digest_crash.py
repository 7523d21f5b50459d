"""Kill the real `briefbot run` process in the middle of a digest fan-out, start it again:
no subscriber gets the digest twice, and the only ones without it are those whose digest was
on its way at the kill (see the rule in briefbot.chats.deliveries)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from briefbot.chats import NOT_SENT_AGAIN, ChatRef, DeliveryState
from tests.conftest import ARTICLE_TEXT, Store

pytestmark = pytest.mark.slow

CHATS = list(range(50_000, 50_300))


def zone_where_it_is_six_am(now: datetime) -> str:
    offset = (6 - now.hour) % 24
    if offset > 14:
        offset -= 24
    # POSIX-style names: Etc/GMT-3 is three hours *ahead* of UTC.
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def start(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    with (cwd / "bot.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "briefbot", "run"],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def digests_due_now(
    tmp_path: Path, url: str, api, send_rate: int
) -> tuple[str, str, dict[str, str]]:
    """A database where every chat in CHATS is due a digest now; returns url, zone, env."""
    now = datetime.now(UTC)
    zone = zone_where_it_is_six_am(now)
    store = Store.open(url)
    for chat_id in CHATS:
        api.private_chat(chat_id)
        store.chats.touch(ChatRef(chat_id, "private"))
        store.chats.set_schedule(
            chat_id, digest_time="05:00", timezone=zone, now=now - timedelta(days=1)
        )
    store.add("Digest test news", ARTICLE_TEXT)
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")} | {
        "BRIEFBOT_TOKEN": api.token,
        "BRIEFBOT_API_URL": api.url,
        "BRIEFBOT_DATABASE_URL": url,
        "BRIEFBOT_LOAD_SAMPLES": "false",
        "BRIEFBOT_SEND_RATE": str(send_rate),
        "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
    }
    return url, zone, env


def test_kill_during_fan_out_and_restart(tmp_path: Path, database_url: str, api):
    url, zone, env = digests_due_now(tmp_path, database_url, api, send_rate=150)
    api.send_delay = 0.01
    kill_after = random.Random().randint(20, 250)
    process = start(env, tmp_path)
    try:
        wait_until(lambda: len(api.sent) >= kill_after, timeout=120)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    sent_before_restart = len(api.sent)
    assert sent_before_restart < len(CHATS), "the fan-out finished before the kill"

    store = Store.open(url)
    day = datetime.now(UTC).astimezone(ZoneInfo(zone)).date().isoformat()

    def settled() -> bool:
        return all(store.deliveries.get(c, day).state == DeliveryState.SENT for c in CHATS)

    process = start(env, tmp_path)
    try:
        wait_until(settled, timeout=120)
        time.sleep(0.5)  # anything sent twice would arrive now
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    counts = api.sent_counts()
    assert max(counts.values()) == 1, f"a digest sent twice (killed after {kill_after})"
    lost = [c for c in CHATS if c not in counts]
    # A lost digest must be one that was on its way at the kill.
    reasons = {store.deliveries.get(c, day).reason for c in lost}
    store.close()
    assert reasons <= {NOT_SENT_AGAIN}, reasons
    assert len(lost) <= 64  # at most the requests open at once (MAX_OPEN_REQUESTS)
    assert api.rejected_for_rate == 0


def test_sigterm_during_fan_out_stops_promptly_and_resumes(tmp_path: Path, database_url: str, api):
    _, _, env = digests_due_now(
        tmp_path, database_url, api, send_rate=40
    )  # 300 chats would take 7.5 s
    process = start(env, tmp_path)
    try:
        wait_until(lambda: len(api.sent) >= 40, timeout=120)
    finally:
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        assert process.wait(timeout=60) == 0
    assert time.monotonic() - stopped_at < 5  # it did not finish the whole fan-out first
    assert len(api.sent) < len(CHATS)

    process = start(env, tmp_path)
    try:
        wait_until(lambda: len(api.sent_counts()) >= len(CHATS), timeout=120)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert api.sent_counts() == {chat_id: 1 for chat_id in CHATS}
