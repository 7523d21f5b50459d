from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from briefbot.articles import Article, Feeds, Library, TextLimits
from briefbot.chats import Admins, Chats, Deliveries
from briefbot.config import Settings
from briefbot.coordination import Inbox, Instances, SummaryJobs
from briefbot.database import Database
from briefbot.models import Summarizer, load_summarizer
from briefbot.services import Services
from tests.botapi import Call, FakeBotApi
from tests.harness import RunningBot, free_port
from tests.postgres import PostgresServer, fresh_database

ADMIN_ID = 4242
READER_ID = 777
GROUP_ID = -1001234567890

ARTICLE_TEXT = (
    "The river town of Westford opened its new footbridge on Saturday after two years of work. "
    "The bridge links the old market square with the railway station on the far bank. "
    "Engineers said the steel deck was lifted into place in a single night in March. "
    "About three thousand people walked across it on the first day, the council said. "
    "Shop owners on the market square hope the bridge will bring more visitors from the station. "
    "The project cost less than planned because the old stone piers could be reused."
)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BRIEFBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BRIEFBOT_CONFIG", str(tmp_path / "no-such-briefbot.toml"))
    # Tests never reach a model hub; say so, so that nothing even tries.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """`briefbot` commands run in-process set up root logging on the stream pytest captures
    for that one test; leaving the handler would write into a closed stream later."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def summarizer() -> Summarizer:
    """The real embedded model, loaded once for the whole run."""
    return load_summarizer("embedded", threads=2)


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    server = FakeBotApi().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(free_port())
    if server.available:
        server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (migrating costs 0.2 s a test)."""
    path = tmp_path_factory.mktemp("template") / "briefbot.db"
    Database.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path
) -> Iterator[str]:
    """Each test that uses the database runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        shutil.copy(migrated_sqlite, tmp_path / "briefbot.db")
        yield f"sqlite:///{tmp_path / 'briefbot.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres")) as url:
        yield url


@pytest.fixture
def settings_factory(database_url: str, api: FakeBotApi) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "token": api.token,
            "api_url": api.url,
            "database_url": database_url,
            "admins": frozenset({ADMIN_ID}),
            "load_samples": False,
            "precompute": False,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@dataclass
class Store:
    """The rooms on one database, for tests that set up or check state directly."""

    db: Database
    library: Library
    chats: Chats
    deliveries: Deliveries
    admins: Admins
    instances: Instances
    inbox: Inbox
    jobs: SummaryJobs
    feeds: Feeds

    @classmethod
    def open(cls, url: str, limits: TextLimits | None = None) -> Store:
        db = Database.open(url)
        library = Library(db, limits)
        instances = Instances(db, role="test")
        return cls(
            db=db,
            library=library,
            chats=Chats(db, library),
            deliveries=Deliveries(db, instances),
            admins=Admins(db),
            instances=instances,
            inbox=Inbox(db, instances),
            jobs=SummaryJobs(db, instances),
            feeds=Feeds(db),
        )

    def add(self, title: str, text: str = "", **details: Any) -> Article:
        return self.library.add(title, text or ARTICLE_TEXT, **details).article

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store.open(database_url)
    yield opened
    opened.close()


@dataclass
class Talk:
    """One side of a conversation: a user in a chat, talking to the running bot."""

    api: FakeBotApi
    chat: dict[str, Any]
    user_id: int | None

    @property
    def chat_id(self) -> int:
        return self.chat["id"]

    def say(self, text: str, replies: int = 1, **extra: Any) -> list[Call]:
        mark = self.api.mark()
        self.api.send_text(self.chat, self.user_id, text, **extra)
        return self.api.wait_for(mark, "sendMessage", replies, chat_id=self.chat_id)

    def press(self, message_id: int, data: str, method: str = "answerCallbackQuery") -> list[Call]:
        mark = self.api.mark()
        self.api.press(self.chat_id, self.user_id or 0, message_id, data)
        return self.api.wait_for(mark, method)


@pytest.fixture
def start_bot(
    api: FakeBotApi, settings_factory: Callable[..., Settings], summarizer: Summarizer
) -> Iterator[Callable[..., RunningBot]]:
    running: list[RunningBot] = []

    def start(
        model: Summarizer | None = None,
        schedule_digests: bool = True,
        webhook: bool = False,
        **overrides: Any,
    ) -> RunningBot:
        role = "webhook" if webhook else "polling"
        services = Services.open(
            settings_factory(**overrides), role=role, summarizer=model or summarizer
        )
        mark = api.mark()
        if webhook:
            port = free_port()
            bot = RunningBot(
                services,
                schedule_digests=schedule_digests,
                webhook_url=f"http://127.0.0.1:{port}/telegram-updates",
                listen=f"127.0.0.1:{port}",
            ).start()
            running.append(bot)
            api.wait_for(mark, "setWebhook")
            bot.wait_running()
            return bot
        bot = RunningBot(services, schedule_digests=schedule_digests).start()
        running.append(bot)
        api.wait_for(mark, "setMyCommands")
        bot.wait_running()
        return bot

    yield start
    for bot in running:
        bot.stop()


def texts(calls: list[Call]) -> list[str]:
    return [call.params["text"] for call in calls]


def buttons(call: Call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data") or b.get("url", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]
