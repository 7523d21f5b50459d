"""Crash-restart suite: `kill -9` the real `briefbot run` at random points of its long
operations (article imports, background summarization, digest fan-outs), start it again each
time, and check at the end that no article, update, summary or digest was lost or doubled.

The one loss allowed is the digest rule's (briefbot.chats.deliveries): a part on its way to
Telegram at a kill counts as sent and is never sent again, so it may be lost. Every lost digest
must be such a part (its record says so); none may be sent twice. The report counts them, and
the requests the stand-in saw cut off by a kill.

CRASH_POINTS sets how many kills (default 6, two per operation); the figures in the
README come from a run with 60. CRASH_REPORT names a JSON file for the figures.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from briefbot.articles.schema import ArticleRow, SummaryRow
from briefbot.chats import NOT_SENT_AGAIN, ChatRef
from briefbot.chats.schema import DigestDeliveryRow
from briefbot.coordination.schema import SummaryJobRow, UpdateRow
from tests.botapi import FakeBotApi
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, Store
from tests.pages import Site
from tests.test_digest_crash import zone_where_it_is_six_am

PHASES = ("import", "summarize", "digest")
LENGTHS = ("standard", "short")
DIGEST_CHATS_PER_CYCLE = 40


@dataclass
class Ledger:
    """What the suite did, to check against what the database and the stand-in saw."""

    titles: list[str] = field(default_factory=list)
    update_ids: list[int] = field(default_factory=list)
    digest_chats: list[int] = field(default_factory=list)
    kills: list[dict[str, Any]] = field(default_factory=list)


def _env(api: FakeBotApi, url: str, tmp_path: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")} | {
        "BRIEFBOT_TOKEN": api.token,
        "BRIEFBOT_API_URL": api.url,
        "BRIEFBOT_DATABASE_URL": url,
        "BRIEFBOT_ADMINS": str(ADMIN_ID),
        "BRIEFBOT_LOAD_SAMPLES": "false",
        "BRIEFBOT_ALLOW_PRIVATE_URLS": "true",
        "BRIEFBOT_SEND_RATE": "120",
        "BRIEFBOT_BATCH_SIZE": "4",
        "BRIEFBOT_MODEL_THREADS": "1",
        "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
    }


def _start(env: dict[str, str], cwd: Path, api: FakeBotApi) -> subprocess.Popen[bytes]:
    mark = api.mark()
    with (cwd / "bot.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "briefbot", "run"],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    api.wait_for(mark, "setMyCommands", timeout=120)
    return process


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _wait_until(condition, timeout: float, what: str, missing=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what} {missing()}"
        time.sleep(0.02)


def _import_cycle(
    cycle: int, rng: random.Random, api: FakeBotApi, site: Site, ledger: Ledger
) -> dict[str, Any]:
    admin = api.private_chat(ADMIN_ID)
    for k in range(4):
        title = f"Crash import {cycle}-{k}"
        ledger.titles.append(title)
        text = f"{title}\n{ARTICLE_TEXT} Item {cycle}-{k} was filed under test {rng.random()}."
        ledger.update_ids.append(api.send_text(admin, ADMIN_ID, text))
    url = site.url(f"/post{cycle}")
    ledger.titles.append(f"Post {cycle}: bridge news")
    ledger.update_ids.append(
        api.send_text(
            admin, ADMIN_ID, url, entities=[{"type": "url", "offset": 0, "length": len(url)}]
        )
    )
    delay = rng.uniform(0.0, 1.5)
    time.sleep(delay)
    return {"after_s": round(delay, 3)}


def _prepare_summaries(cycle: int, store: Store, ledger: Ledger) -> None:
    for k in range(6):
        title = f"Crash summary {cycle}-{k}"
        store.add(title, f"{ARTICLE_TEXT} Summary test {cycle}-{k} adds a last fact.")
        ledger.titles.append(title)


def _prepare_digests(cycle: int, store: Store, api: FakeBotApi, ledger: Ledger) -> None:
    now = datetime.now(UTC)
    zone = zone_where_it_is_six_am(now)
    chats = [900_000 + cycle * 1_000 + n for n in range(DIGEST_CHATS_PER_CYCLE)]
    for chat_id in chats:
        api.private_chat(chat_id)
        store.chats.touch(ChatRef(chat_id, "private"))
        store.chats.set_schedule(
            chat_id, digest_time="05:00", timezone=zone, now=now - timedelta(days=1)
        )
    ledger.digest_chats.extend(chats)


def _kill_cycle(
    cycle: int,
    rng: random.Random,
    env: dict[str, str],
    tmp_path: Path,
    api: FakeBotApi,
    site: Site,
    store: Store,
    ledger: Ledger,
) -> dict[str, Any]:
    """Start the bot, give it work of one kind, and kill it at a random point of that work."""
    phase = PHASES[cycle % len(PHASES)]
    if phase == "summarize":
        _prepare_summaries(cycle, store, ledger)
    elif phase == "digest":
        _prepare_digests(cycle, store, api, ledger)
        store.add(f"Crash digest news {cycle}", f"{ARTICLE_TEXT} Digest {cycle}.")
        ledger.titles.append(f"Crash digest news {cycle}")
    process = _start(env, tmp_path, api)
    try:
        if phase == "import":
            point = _import_cycle(cycle, rng, api, site, ledger)
        elif phase == "summarize":
            delay = rng.uniform(0.05, 2.5)
            time.sleep(delay)
            point = {"after_s": round(delay, 3)}
        else:
            sends = rng.randint(1, DIGEST_CHATS_PER_CYCLE - 1)
            chats = ledger.digest_chats[-DIGEST_CHATS_PER_CYCLE:]
            _wait_until(lambda: _sent_to(api, chats) >= sends, 60, "digest sends")
            point = {"after_sends": sends}
    finally:
        _kill(process)
    with store.db.transaction() as session:
        point["summaries_so_far"] = session.scalar(select(func.count()).select_from(SummaryRow))
    return {"cycle": cycle, "phase": phase, **point}


@pytest.mark.slow
def test_kill_at_random_points_and_restart_loses_and_repeats_nothing(
    tmp_path: Path, database_url: str, api
):
    points = int(os.environ.get("CRASH_POINTS", "6"))
    seed = int(os.environ.get("CRASH_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    url = database_url
    env = _env(api, url, tmp_path)
    api.send_delay = 0.005
    site = Site()
    ledger = Ledger()
    store = Store.open(url)
    store.add("Crash suite seed article", ARTICLE_TEXT)
    ledger.titles.append("Crash suite seed article")
    started = time.monotonic()
    try:
        for cycle in range(points):
            ledger.kills.append(_kill_cycle(cycle, rng, env, tmp_path, api, site, store, ledger))

        # A last, clean life: it must finish everything the killed ones left.
        process = _start(env, tmp_path, api)
        try:
            _wait_until(
                lambda: _all_handled(store, ledger),
                240,
                "every update handled",
                lambda: _unhandled(store, ledger, seed),
            )
            _wait_until(lambda: _all_summarized(store), 240, "every summary")
            _wait_until(
                lambda: _all_digests_settled(store, ledger),
                120,
                "every digest",
                lambda: _missing_digests(store, api, ledger, seed),
            )
            time.sleep(1.0)  # anything sent twice would arrive now
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        report = _check(store, api, ledger)
    finally:
        store.close()
        site.stop()
    report |= {
        "seed": seed,
        "kill_points": len(ledger.kills),
        "by_phase": dict(Counter(k["phase"] for k in ledger.kills)),
        "seconds": round(time.monotonic() - started, 1),
        "kills": ledger.kills,
    }
    target = os.environ.get("CRASH_REPORT")
    if target:
        Path(target).write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "kills"}))


def _missing_digests(store: Store, api: FakeBotApi, ledger: Ledger, seed: int) -> str:
    missing = sorted(set(ledger.digest_chats) - set(api.sent_counts()))
    with store.db.transaction() as session:
        rows = session.scalars(
            select(DigestDeliveryRow).where(DigestDeliveryRow.chat_id.in_(missing))
        ).all()
        records = [
            {
                "chat": row.chat_id,
                "state": row.state,
                "reason": row.reason,
                "parts": f"{row.parts_sent}/{row.parts_total}",
                "in_flight": row.in_flight,
                "attempts": row.attempts,
                "owner": row.owner,
            }
            for row in rows
        ]
    return f"(seed {seed}): {missing}, records {records}, kills {ledger.kills}"


def _all_digests_settled(store: Store, ledger: Ledger) -> bool:
    with store.db.transaction() as session:
        settled = session.scalar(
            select(func.count()).where(
                DigestDeliveryRow.chat_id.in_(ledger.digest_chats),
                DigestDeliveryRow.state.not_in(["pending", "sending"]),
            )
        )
    return settled == len(ledger.digest_chats)


def _sent_to(api: FakeBotApi, chats: list[int]) -> int:
    counts = api.sent_counts()
    return sum(counts.get(chat, 0) for chat in chats)


def _all_handled(store: Store, ledger: Ledger) -> bool:
    with store.db.transaction() as session:
        done = session.scalar(
            select(func.count()).where(
                UpdateRow.update_id.in_(ledger.update_ids), UpdateRow.state == "done"
            )
        )
    return done == len(ledger.update_ids)


def _unhandled(store: Store, ledger: Ledger, seed: int) -> str:
    with store.db.transaction() as session:
        rows = session.execute(
            select(UpdateRow.update_id, UpdateRow.state, UpdateRow.attempts).where(
                UpdateRow.update_id.in_(ledger.update_ids), UpdateRow.state != "done"
            )
        ).all()
    return f"(seed {seed}): {[tuple(row) for row in rows]}, kills {ledger.kills}"


def _all_summarized(store: Store) -> bool:
    with store.db.transaction() as session:
        articles = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
        summaries = session.scalar(select(func.count()).select_from(SummaryRow)) or 0
    return summaries >= articles * len(LENGTHS)


def _check(store: Store, api: FakeBotApi, ledger: Ledger) -> dict[str, Any]:
    with store.db.transaction() as session:
        titles = Counter(session.scalars(select(ArticleRow.title)))
        states = Counter(session.scalars(select(UpdateRow.state)))
        jobs = list(session.execute(select(SummaryJobRow.state, SummaryJobRow.reason)))
        summaries = session.scalar(select(func.count()).select_from(SummaryRow))
        deliveries = Counter(
            session.scalars(
                select(DigestDeliveryRow.state).where(
                    DigestDeliveryRow.chat_id.in_(ledger.digest_chats)
                )
            )
        )
        in_flight_at_kill = session.scalar(
            select(func.count()).where(
                DigestDeliveryRow.chat_id.in_(ledger.digest_chats),
                DigestDeliveryRow.reason == NOT_SENT_AGAIN,
            )
        )
    # Articles: every one imported or added is there, exactly once.
    missing = [t for t in ledger.titles if titles[t] == 0]
    doubled = [t for t, n in titles.items() if n > 1]
    assert not missing, f"lost articles: {missing}"
    assert not doubled, f"articles stored twice: {doubled}"
    # Updates: all handled, none given up on.
    assert set(states) == {"done"}, states
    # Summaries: every article has both, no job left running or failed.
    assert summaries == len(titles) * len(LENGTHS)
    assert jobs == [], jobs
    # Digests: none twice. The one loss allowed: a part on its way at a kill, which counts
    # as sent (its record says so).
    counts = api.sent_counts()
    assert set(deliveries) == {"sent"}, deliveries
    assert max(counts.get(chat, 0) for chat in ledger.digest_chats) == 1, "a digest sent twice"
    lost = sorted(chat for chat in ledger.digest_chats if counts.get(chat, 0) == 0)
    with store.db.transaction() as session:
        reasons = set(
            session.scalars(
                select(DigestDeliveryRow.reason).where(DigestDeliveryRow.chat_id.in_(lost))
            )
        )
    assert reasons <= {NOT_SENT_AGAIN}, f"lost digests {lost}: {reasons}"
    return {
        "articles": len(titles),
        "updates": len(ledger.update_ids),
        "summaries": summaries,
        "digest_chats": len(ledger.digest_chats),
        "digest_parts_on_their_way_at_a_kill": in_flight_at_kill,
        "lost_on_their_way_at_a_kill": len(lost),
        "arrived_though_counted_as_sent": in_flight_at_kill - len(lost),
        "lost_otherwise": 0,
        "duplicated": 0,
        "admin_replies": counts.get(ADMIN_ID, 0),
        "requests_cut_off_by_a_kill": api.cut_off["sendMessage"],
    }
