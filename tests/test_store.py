"""The rooms on a real database (SQLite and PostgreSQL): migrations, the library's dedupe,
navigation and cache, chats' state, imports."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from briefbot.articles import ArticleRejected, TextLimits
from briefbot.articles.importer import (
    SAMPLES_DIR,
    ImportSourceError,
    import_candidates,
    load_samples_if_empty,
    read_source,
)
from briefbot.chats import ChatRef
from briefbot.database import Database
from tests.conftest import ARTICLE_TEXT, Store


def test_schema_is_migrated_once(database_url: str, store: Store):
    with store.db.engine.connect() as connection:
        if store.db.dialect == "sqlite":
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0011"
        )
    again = Store.open(database_url)
    assert again.library.count() == 0
    again.close()


def fresh(database_url: str, tmp_path: Path) -> str:
    """An empty database (the SQLite fixture is a copy of a migrated one)."""
    return (
        database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path}/new.db"
    )


def test_upgrade_from_the_first_schema_keeps_data(database_url: str, tmp_path: Path):
    from alembic import command

    from briefbot.database import alembic_config, create_database_engine

    url = fresh(database_url, tmp_path)
    engine = create_database_engine(url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO chats (chat_id, kind, subscribed, created_at, updated_at) "
                "VALUES (9, 'private', :yes, :when, :when)"
            ),
            {"yes": True, "when": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    engine.dispose()
    store = Store.open(url)
    [chat] = store.chats.subscribed()
    assert chat.chat_id == 9 and chat.digest_days == "daily" and chat.digest_watermark == 0
    store.close()


def test_same_body_is_stored_once(store: Store):
    first = store.library.add("Title", ARTICLE_TEXT, url="https://example.org/a", added_by=1)
    assert first.created and first.article.id == 1
    respaced = "  " + ARTICLE_TEXT.upper().replace(". ", ".\n\n") + "  "
    second = store.library.add("Another title", respaced)
    assert not second.created and second.article.id == first.article.id
    assert store.library.count() == 1
    assert store.library.get(1).url == "https://example.org/a"


def test_only_web_links_are_kept_as_sources(store: Store):
    unsafe = store.library.add("A", ARTICLE_TEXT, url="javascript:alert(1)").article
    assert unsafe.url is None
    spaced = store.library.add("B", ARTICLE_TEXT + " B", url="https://exa mple.org").article
    assert spaced.url is None
    kept = store.library.add("C", ARTICLE_TEXT + " C", url=" http://example.org/x?a=1&b=2 ")
    assert kept.article.url == "http://example.org/x?a=1&b=2"


def test_rejects_bad_text_without_storing(store: Store):
    with pytest.raises(ArticleRejected, match="too short"):
        store.library.add("Title", "Too short.")
    with pytest.raises(ArticleRejected, match="no title"):
        store.library.add("   ", ARTICLE_TEXT)
    with pytest.raises(ArticleRejected, match="too long"):
        store.library.add("Huge paste", "x" * 5_000_000)
    assert store.library.count() == 0


def test_limits_are_configurable(database_url: str):
    store = Store.open(database_url, TextLimits(max_chars=1_000))
    with pytest.raises(ArticleRejected, match="limit is 1,000"):
        store.library.add("Title", ARTICLE_TEXT * 3)
    store.close()


def test_neighbours_and_latest(store: Store):
    ids = [store.library.add(f"T{n}", f"{ARTICLE_TEXT} {n}").article.id for n in range(4)]
    assert [a.id for a in store.library.latest(2)] == [ids[3], ids[2]]
    assert store.library.neighbour(ids[1], "next").id == ids[2]
    assert store.library.neighbour(ids[1], "prev").id == ids[0]
    assert store.library.neighbour(ids[3], "next") is None
    assert store.library.neighbour(ids[0], "prev") is None


def test_chat_state(store: Store):
    state = store.chats.touch(ChatRef(5, "private"))
    assert not state.subscribed and state.current_article_id is None
    article = store.library.add("T", ARTICLE_TEXT).article
    store.chats.set_current(5, article.id)
    assert store.chats.set_subscribed(5, True) is True
    assert store.chats.set_subscribed(5, True) is False
    state = store.chats.touch(ChatRef(5, "private"))
    assert state.subscribed and state.current_article_id == article.id
    assert store.chats.counts() == (1, 1)


def test_prepared_statements_read_and_write_what_the_orm_does(store: Store):
    """The statements every update runs go straight to the driver (database.Prepared); what
    they read and write must match what SQLAlchemy's session reads and writes."""
    started = datetime.now(UTC)
    first = store.chats.touch(ChatRef(7, "private", "Ann", "pt-br"))
    assert first == store.chats.get(7)  # the first contact, read back through the ORM
    renamed = store.chats.touch(ChatRef(7, "private", "Ann B", "de"))
    assert (renamed.title, renamed.user_language) == ("Ann B", "de")
    assert renamed == store.chats.get(7)
    article = store.library.add("T", ARTICLE_TEXT).article
    assert store.library.get(article.id) == article == store.library.get_many([article.id])[0]
    assert store.library.get(article.id).added_at.tzinfo is not None
    assert store.library.latest(1) == [article] == [store.library.newest()]
    store.chats.set_current(7, article.id)
    store.chats.set_schedule(7, digest_time="08:00", timezone="UTC", now=started)
    state = store.chats.touch(ChatRef(7, "private"))
    assert state == store.chats.get(7)
    assert state.current_article_id == article.id and state.schedule_changed_at == started
    assert isinstance(state.subscribed, bool) and isinstance(state.follow_topics, bool)
    store.library.save_summary(article.content_hash, "model", "standard", "Ünïcode ✓.")
    assert store.library.summary(article.content_hash, "model", "standard") == "Ünïcode ✓."
    assert store.library.summary(article.content_hash, "model", "short") is None
    store.inbox.record([{"update_id": 9, "message": {"chat": {"id": 7}}}])
    store.inbox.done(9)
    with store.db.transaction() as session:
        written = session.execute(
            text("SELECT state FROM updates WHERE update_id = 9")
        ).scalar_one()
    assert written == "done"
    assert store.chats.languages([7, 8]) == {}


def test_sqlite_writers_take_turns_from_their_first_write_to_the_end(store: Store):
    writers = store.db.writers
    if writers is None:
        pytest.skip("PostgreSQL lets transactions write side by side")
    article = store.library.add("T", ARTICLE_TEXT).article
    assert not writers.held
    with store.db.transaction() as session:  # reads take no turn
        store.library.get(article.id, session)
        store.chats.languages([5], session)
        assert not writers.held
        store.chats.touch(ChatRef(5, "private"), session)  # a Core insert
        assert writers.held
    assert not writers.held
    with store.db.transaction() as session:
        store.chats.set_current(5, article.id, session)  # a prepared update
        assert writers.held
    assert not writers.held
    with pytest.raises(RuntimeError), store.db.transaction() as session:
        store.inbox.done(1, session)
        assert writers.held
        raise RuntimeError("rolled back")
    assert not writers.held
    with pytest.raises(IntegrityError), store.db.transaction() as session:
        session.execute(text("INSERT INTO chats (chat_id, kind) VALUES (5, 'private')"))
    assert not writers.held
    # Another thread gets its turn at once, and the chat's place was written.
    done = threading.Thread(target=store.chats.set_current, args=(5, article.id))
    done.start()
    done.join(timeout=10)
    assert not done.is_alive() and not writers.held
    assert store.chats.get(5).current_article_id == article.id


def test_a_place_on_an_article_deleted_meanwhile_is_lost_not_an_error(store: Store):
    # A reader's update read the article; an admin deleted it before the reader's update
    # wrote the chat's new place (found by tests/test_fuzz.py).
    store.chats.touch(ChatRef(5, "private"))
    article = store.library.add("T", ARTICLE_TEXT).article
    store.library.delete(article.id)
    store.chats.set_current(5, article.id)
    assert store.chats.touch(ChatRef(5, "private")).current_article_id is None


def test_summary_cache_is_keyed_by_content_model_and_length(store: Store):
    store.library.save_summary("hash", "model-a", "standard", "A summary.")
    assert store.library.summary("hash", "model-a", "standard") == "A summary."
    assert store.library.summary("hash", "model-a", "short") is None
    assert store.library.summary("hash", "model-b", "standard") is None
    store.library.save_summary("hash", "model-a", "standard", "Replaced.")
    assert store.library.summary("hash", "model-a", "standard") == "Replaced."


def test_import_jsonl_reports_every_line(tmp_path: Path, store: Store):
    path = tmp_path / "articles.jsonl"
    lines = [
        json.dumps({"title": "One", "text": ARTICLE_TEXT, "url": "https://example.org/1"}),
        "not json",
        json.dumps({"title": "Dup", "text": ARTICLE_TEXT}),
        json.dumps({"title": "No text"}),
        "",
        json.dumps({"text": f"Title from first line\n{ARTICLE_TEXT} More."}),
        json.dumps(["a list"]),
        json.dumps({"title": "Short", "text": "Too short."}),
        # One paragraph and no title: titled by its first sentence, all of it kept.
        json.dumps({"text": f"Ferry returns. {ARTICLE_TEXT} It was a paragraph."}),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    report = import_candidates(store.library, read_source(path))
    assert [a.title for a in report.added] == ["One", "Title from first line", "Ferry returns."]
    assert report.added[1].text.startswith("The river town")
    assert report.added[2].text.startswith("Ferry returns. The river town")
    assert report.duplicates == [("articles.jsonl:3", 1)]
    assert [where for where, _ in report.errors] == [
        "articles.jsonl:2",
        "articles.jsonl:4",
        "articles.jsonl:7",
        "articles.jsonl:8",
    ]
    assert store.library.get(1).url == "https://example.org/1"


def test_import_folder_of_markdown_and_text(tmp_path: Path, store: Store):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text(f"# Markdown title\n\n{ARTICLE_TEXT}", encoding="utf-8")
    (folder / "b.txt").write_text(f"Text title\n{ARTICLE_TEXT} Another.", encoding="utf-8")
    (folder / "c.bin.txt").write_bytes(b"\x00\x01binary")
    (folder / "ignored.pdf").write_bytes(b"%PDF")
    report = import_candidates(store.library, read_source(folder))
    assert sorted(a.title for a in report.added) == ["Markdown title", "Text title"]
    assert report.errors == [("c.bin.txt", "looks like a binary file")]


def test_import_refuses_unknown_sources(tmp_path: Path, store: Store):
    with pytest.raises(ImportSourceError, match="does not exist"):
        import_candidates(store.library, read_source(tmp_path / "missing.jsonl"))
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(ImportSourceError, match=r"expected a \.jsonl"):
        import_candidates(store.library, read_source(tmp_path / "x.csv"))


def test_samples_load_only_into_an_empty_store(store: Store):
    report = load_samples_if_empty(store.library)
    assert report is not None and len(report.added) == len(list(SAMPLES_DIR.glob("*.md"))) >= 2
    assert all(a.origin == "sample" for a in report.added)
    assert load_samples_if_empty(store.library) is None


def test_instances_starting_together_migrate_one_after_another(database_url: str, tmp_path):
    # Two processes opening a new database at once must not both create the tables.
    database_url = fresh(database_url, tmp_path)
    results: list[object] = []

    def open_store() -> None:
        try:
            Database.open(database_url).close()
            results.append("ok")
        except Exception as exc:  # reported below
            results.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["ok", "ok", "ok"]


def test_ids_beyond_the_schema_range_are_simply_not_found(store: Store):
    # Ids come from commands and buttons; PostgreSQL would refuse them outright.
    store.library.add("Bridge", ARTICLE_TEXT)
    huge = 99_999_999_999_999_999_999
    assert store.library.get(huge) is None and store.library.get(-1) is None
    assert store.library.delete(2**31) is None
    assert store.library.set_title(huge, "New") is None
    assert store.library.get_many([huge, 1])[0].title == "Bridge"
    assert store.library.neighbour(huge, "prev").title == "Bridge"
    assert store.library.neighbour(huge, "next") is None
    assert store.library.page(huge) == []


def test_attempts_count_only_lives_that_may_have_had_the_update_in_hand(store: Store):
    from sqlalchemy import select, update

    from briefbot.coordination.inbox import MAX_UPDATE_ATTEMPTS
    from briefbot.coordination.schema import UpdateRow

    def message(update_id: int, chat_id: int) -> dict:
        return {"update_id": update_id, "message": {"chat": {"id": chat_id}, "text": "/x"}}

    store.inbox.record([message(1, 10), message(2, 10), message(3, 10), message(4, 20)])

    def crash() -> None:  # the instance that owned them is gone
        with store.db.transaction() as session:
            session.execute(update(UpdateRow).values(owner="gone"))

    def attempts() -> dict[int, tuple[str, int]]:
        with store.db.transaction() as session:
            rows = session.execute(
                select(UpdateRow.update_id, UpdateRow.state, UpdateRow.attempts)
            )
            return {update_id: (state, n) for update_id, state, n in rows}

    crash()
    assert [u["update_id"] for u in store.inbox.take_over()] == [1, 2, 3, 4]
    assert attempts() == {
        1: ("received", 1),
        2: ("received", 0),
        3: ("received", 0),
        4: ("received", 1),
    }
    store.inbox.done(4)
    for _ in range(3):  # lives stopped (a deploy, kill -9) before they reached update 1
        crash()
        store.inbox.take_over()
    assert attempts()[1] == ("received", 1)
    for _ in range(MAX_UPDATE_ATTEMPTS - 1):  # update 1 keeps stopping the process
        store.inbox.begin_again(1)
        crash()
        store.inbox.take_over()
    assert attempts()[1] == ("failed", MAX_UPDATE_ATTEMPTS)
    assert attempts()[2] == ("received", 0)  # queued behind it, never in hand: not held against it
    crash()
    assert [u["update_id"] for u in store.inbox.take_over()] == [2, 3]
    assert attempts()[2] == ("received", 1)
