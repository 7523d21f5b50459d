"""`briefbot console`: the same handlers, answered in process, shown in the terminal."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from rich.console import Console

from briefbot.bot.console import ConsoleSession
from briefbot.config import Settings
from briefbot.services import Services


def test_console_session_reads_the_samples(database_url: str, summarizer):
    settings = Settings(database_url=database_url)
    output = io.StringIO()
    session = ConsoleSession(
        Services.open(settings, role="console", summarizer=summarizer),
        Console(file=output, width=200),
    )
    lines = iter(
        ["/start", "/summary", "/prev", "2", "3", "/latest", "1", "/nonsense", "9", "quit"]
    )
    asyncio.run(session.run(lambda _prompt: next(lines)))
    shown = output.getvalue()
    assert "Hi, I'm Briefbot" in shown
    assert "[1] ◀ Previous  [2] 📝 Get a summary  [3] Next ▶" in shown
    assert "min read" in shown
    assert "🔗 https://t.me/share/url?url=https%3A%2F%2Ft.me%2Fbriefbot_console_bot" in shown
    assert "The 3 newest articles" in shown
    assert "I don't know /nonsense" in shown
    assert "No such button" in shown
    assert "<b>" not in shown  # HTML is rendered as text


def test_console_ends_on_end_of_input(tmp_path: Path, summarizer):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", load_samples=False)
    output = io.StringIO()
    services = Services.open(settings, role="console", summarizer=summarizer)
    session = ConsoleSession(services, Console(file=output))

    def read(_prompt: str) -> str:
        raise EOFError

    asyncio.run(session.run(read))
    assert "Briefbot console" in output.getvalue()
