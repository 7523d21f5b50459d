"""Several `briefbot run --webhook` processes on one PostgreSQL behind one URL: they share
digests, summaries and updates with nothing done twice, and one finishes what a killed one
left."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from briefbot.articles.schema import SummaryRow
from briefbot.chats import NOT_SENT_AGAIN, ChatRef
from briefbot.chats.schema import DigestDeliveryRow
from briefbot.coordination.schema import UpdateRow
from tests.botapi import FakeBotApi
from tests.conftest import ARTICLE_TEXT, Store
from tests.instances import instance_env, start_together
from tests.postgres import PostgresServer, fresh_database
from tests.test_digest_crash import zone_where_it_is_six_am

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_database(postgres: PostgresServer) -> Iterator[str]:
    with fresh_database(postgres) as url:
        yield url


def _prepare(url: str, api: FakeBotApi, chats: list[int], articles: int) -> None:
    now = datetime.now(UTC)
    zone = zone_where_it_is_six_am(now)
    store = Store.open(url)
    for chat_id in chats:
        api.private_chat(chat_id)
        store.chats.touch(ChatRef(chat_id, "private"))
        store.chats.set_schedule(
            chat_id, digest_time="05:00", timezone=zone, now=now - timedelta(days=1)
        )
    for n in range(articles):
        store.add(f"Shared story {n}", f"{ARTICLE_TEXT} Story {n} ends here.")
    store.close()


def _wait_until(condition, timeout: float, what: str, missing=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what} {missing()}"
        time.sleep(0.05)


def _readers_ask(api: FakeBotApi, readers: list[int]) -> None:
    for reader in readers:
        api.send_text(api.private_chat(reader), reader, "/summary")


def test_two_instances_share_the_work_and_do_nothing_twice(
    tmp_path: Path, shared_database: str, api: FakeBotApi
):
    chats = list(range(60_000, 60_300))
    readers = list(range(70_000, 70_030))
    _prepare(shared_database, api, chats, articles=10)
    env = instance_env(api, shared_database, tmp_path, send_rate=100)
    first, second = start_together(["first", "second"], env, tmp_path, api)
    try:
        _readers_ask(api, readers)
        store = Store.open(shared_database)
        _wait_until(lambda: set(api.sent_counts()) >= set(chats + readers), 120, "all messages")
        _wait_until(lambda: _summaries(store) == 20, 120, "every summary")
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        first.stop()
        second.stop()
    counts = api.sent_counts()
    assert Counter(counts[c] for c in chats) == {1: len(chats)}
    assert Counter(counts[r] for r in readers) == {1: len(readers)}
    with store.db.transaction() as session:
        owners = Counter(session.scalars(select(DigestDeliveryRow.owner)))
        states = Counter(session.scalars(select(UpdateRow.state)))
    store.close()
    assert len(owners) == 2, f"one instance did all the digests: {owners}"
    assert states == {"done": len(readers)}
    # 10 articles x 2 lengths, each computed by exactly one of the two instances.
    assert first.summarized() + second.summarized() == 20
    assert first.summarized() and second.summarized()


def _summaries(store: Store) -> int:
    with store.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(SummaryRow)) or 0


def test_a_killed_instance_work_is_finished_by_the_other(
    tmp_path: Path, shared_database: str, api: FakeBotApi
):
    chats = list(range(61_000, 61_300))
    readers = list(range(71_000, 71_020))
    _prepare(shared_database, api, chats, articles=3)
    api.send_delay = 0.01
    env = instance_env(api, shared_database, tmp_path, send_rate=60)
    doomed, survivor = start_together(["doomed", "survivor"], env, tmp_path, api)
    try:
        _wait_until(lambda: len(api.sent) >= 60, 60, "the fan-out to start")
        _readers_ask(api, readers[:10])
        time.sleep(0.2)
        doomed.kill()
        killed_at = len(api.sent)
        _readers_ask(api, readers[10:])
        store = Store.open(shared_database)

        def settled() -> bool:
            with store.db.transaction() as session:
                unsent = session.scalar(
                    select(func.count()).where(DigestDeliveryRow.state != "sent")
                )
                records = session.scalar(select(func.count()).select_from(DigestDeliveryRow))
            return records == len(chats) and unsent == 0

        _wait_until(
            lambda: settled() and set(api.sent_counts()) >= set(readers),
            60,
            "every digest settled and every reader answered",
        )
        time.sleep(1.0)
    finally:
        survivor.stop()
    counts = api.sent_counts()
    assert killed_at < len(chats), "the fan-out finished before the kill"
    assert max(counts[c] for c in chats if c in counts) == 1, "a digest sent twice"
    lost = [c for c in chats if c not in counts]
    with store.db.transaction() as session:
        states = Counter(session.scalars(select(UpdateRow.state)))
        reasons = set(
            session.scalars(
                select(DigestDeliveryRow.reason).where(DigestDeliveryRow.chat_id.in_(lost))
            )
        )
    store.close()
    # The only digests missing are parts the killed instance had on their way.
    assert reasons <= {NOT_SENT_AGAIN}, reasons
    assert Counter(counts[r] for r in readers) == {1: len(readers)}
    assert states == {"done": len(readers)}
    # The survivor took over the digests the killed instance had claimed and not sent.
    assert "Resuming the digest" in survivor.log.read_text()
