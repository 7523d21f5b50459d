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

from briefbot.articles import ArticleStore
from briefbot.articles.schema import DigestDeliveryRow, SummaryRow, UpdateRow
from tests.botapi import FakeBotApi
from tests.conftest import ARTICLE_TEXT
from tests.instances import instance_env, start_together
from tests.postgres import PostgresServer, fresh_database
from tests.test_digest_crash import zone_where_it_is_six_am


@pytest.fixture
def shared_database(postgres: PostgresServer) -> Iterator[str]:
    with fresh_database(postgres) as url:
        yield url


def _prepare(url: str, api: FakeBotApi, chats: list[int], articles: int) -> None:
    now = datetime.now(UTC)
    zone = zone_where_it_is_six_am(now)
    store = ArticleStore.open(url)
    for chat_id in chats:
        api.private_chat(chat_id)
        store.touch_chat(chat_id, "private")
        store.set_digest_schedule(
            chat_id, digest_time="05:00", timezone=zone, now=now - timedelta(days=1)
        )
    for n in range(articles):
        store.add_article(f"Shared story {n}", f"{ARTICLE_TEXT} Story {n} ends here.")
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
        store = ArticleStore.open(shared_database)
        _wait_until(lambda: set(api.sent_counts()) >= set(chats + readers), 120, "all messages")
        _wait_until(lambda: _summaries(store) == 20, 120, "every summary")
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        first.stop()
        second.stop()
    counts = api.sent_counts()
    assert Counter(counts[c] for c in chats) == {1: len(chats)}
    assert Counter(counts[r] for r in readers) == {1: len(readers)}
    with store.session() as session:
        owners = Counter(session.scalars(select(DigestDeliveryRow.owner)))
        states = Counter(session.scalars(select(UpdateRow.state)))
    store.close()
    assert len(owners) == 2, f"one instance did all the digests: {owners}"
    assert states == {"done": len(readers)}
    # 10 articles x 2 lengths, each computed by exactly one of the two instances.
    assert first.summarized() + second.summarized() == 20
    assert first.summarized() and second.summarized()


def _summaries(store: ArticleStore) -> int:
    with store.session() as session:
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
        _wait_until(
            lambda: set(api.sent_counts()) >= set(chats + readers),
            60,
            "all messages",
            lambda: sorted(set(chats + readers) - set(api.sent_counts())),
        )
        time.sleep(1.0)
    finally:
        survivor.stop()
    counts = api.sent_counts()
    assert killed_at < len(chats), "the fan-out finished before the kill"
    assert Counter(counts[c] for c in chats) == {1: len(chats)}
    assert Counter(counts[r] for r in readers) == {1: len(readers)}
    store = ArticleStore.open(shared_database)
    with store.session() as session:
        states = Counter(session.scalars(select(UpdateRow.state)))
        unsent = session.scalar(select(func.count()).where(DigestDeliveryRow.state != "sent"))
    store.close()
    assert states == {"done": len(readers)} and unsent == 0
    # The survivor took over the digests the killed instance had claimed and not sent.
    assert "Resuming the digest" in survivor.log.read_text()
