"""A full disk and a locked database: a clear line in the log and in the chat, nothing half
written, and the bot carries on once the fault is gone."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from briefbot import database
from tests.conftest import ADMIN_ID, ARTICLE_TEXT, Talk

# SQLite's page limit and file lock stand in for a full disk and a locked database; PostgreSQL
# has no such switch, and its errors map through the same code (SQLSTATE 53100 and 55P03).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BIG_TEXT = "A big story\n" + " ".join([ARTICLE_TEXT] * 120)  # about 90 KB


@contextmanager
def disk_full(db) -> Iterator[None]:
    """SQLite's max_page_count makes the database file unable to grow, as a full disk does."""
    with db.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    full = [True]

    def cap(dbapi_connection, _record) -> None:
        if full[0]:
            dbapi_connection.execute(f"PRAGMA max_page_count={pages + 4}")

    # Left registered afterwards, switched off: removing a listener while another thread (the
    # bot's background work) opens a connection makes SQLAlchemy raise.
    event.listen(db.engine, "connect", cap)
    db.engine.dispose()
    try:
        yield
    finally:
        full[0] = False
        db.engine.dispose()


def test_a_full_disk_is_reported_and_nothing_is_half_written(start_bot, api, caplog):
    bot = start_bot()
    db, library = bot.services.db, bot.services.library
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    admin.say("/help")
    before = library.count()
    caplog.set_level(logging.ERROR)
    with disk_full(db):
        [reply] = admin.say(BIG_TEXT)
    assert "disk is full" in reply.params["text"] and "Nothing was changed" in reply.params["text"]
    assert library.count() == before
    assert any("database error (full)" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records if "not handled" in r.getMessage())
    # Space is back: the same text is stored, once.
    [reply] = admin.say(BIG_TEXT)
    assert "Added" in reply.params["text"] or "added" in reply.params["text"]
    assert library.count() == before + 1


@pytest.fixture
def short_lock_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)


def test_a_locked_database_is_reported_and_the_bot_recovers(
    short_lock_wait, start_bot, api, caplog
):
    bot = start_bot()
    db, library = bot.services.db, bot.services.library
    admin = Talk(api, api.private_chat(ADMIN_ID), ADMIN_ID)
    admin.say("/help")
    before = library.count()
    caplog.set_level(logging.ERROR)
    locked = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        other = sqlite3.connect(db.engine.url.database, timeout=0.1)
        other.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(30)
        other.rollback()
        other.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        [reply] = admin.say("Locked story\n" + ARTICLE_TEXT)
    finally:
        release.set()
        holder.join()
    assert "database is busy" in reply.params["text"]
    assert library.count() == before
    assert any("database error (locked)" in r.getMessage() for r in caplog.records)
    [reply] = admin.say("Locked story\n" + ARTICLE_TEXT)
    assert library.count() == before + 1
