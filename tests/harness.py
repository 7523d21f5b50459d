"""Run the real Application (run_polling and all) in a thread against the stand-in."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from telegram.ext import Application

from briefbot.bot.app import build_application, serve
from briefbot.bot.services import BotServices
from briefbot.bot.webhook import run_webhook


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningBot:
    """The bot on its own thread: long polling, or with `webhook_url` a webhook server."""

    def __init__(
        self,
        services: BotServices,
        *,
        schedule_digests: bool = True,
        webhook_url: str | None = None,
        listen: str | None = None,
    ) -> None:
        self.services = services
        self.webhook_url = webhook_url
        self.listen = listen
        self.application: Application = build_application(
            services, schedule_digests=schedule_digests, polling=webhook_url is None
        )
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bot", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            if self.webhook_url is not None:
                self._stop = asyncio.Event()
                self._loop.run_until_complete(
                    run_webhook(
                        self.application,
                        self.services.settings,
                        self.webhook_url,
                        self.listen or "127.0.0.1:0",
                        stop=self._stop,
                    )
                )
                return
            serve(
                self.application,
                stop_signals=None,
                close_loop=False,
                poll_interval=0,
                timeout=1,
            )
        except BaseException as exc:  # reported by stop()
            self._error = exc

    def start(self) -> RunningBot:
        self._thread.start()
        return self

    def wait_running(self, timeout: float = 60) -> None:
        """Until the Application is running: a stop asked for before that would be lost."""
        deadline = time.monotonic() + timeout
        while not self.application.running:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the bot did not start")
            time.sleep(0.01)

    def call(self, coroutine: Any, timeout: float = 120) -> Any:
        """Run a coroutine on the bot's loop from the test thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.wait_running()
            if self.webhook_url is not None:
                assert self._stop is not None
                self._loop.call_soon_threadsafe(self._stop.set)
            else:
                self._loop.call_soon_threadsafe(self.application.stop_running)
            self._thread.join(timeout=60)
        if not self._thread.is_alive():
            self._loop.close()
        if self._error is not None:
            raise self._error
