"""Run the real Application (the same Runner as `briefbot run`) in a thread against the
stand-in."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from briefbot.bot.app import BriefbotApp, build_application
from briefbot.bot.runner import Polling, Runner
from briefbot.bot.webhook import WebhookServer
from briefbot.services import Services


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningBot:
    """The bot on its own thread: long polling, or with `webhook_url` a webhook server."""

    def __init__(
        self,
        services: Services,
        *,
        schedule_digests: bool = True,
        webhook_url: str | None = None,
        listen: str | None = None,
    ) -> None:
        self.services = services
        self.webhook_url = webhook_url
        self.listen = listen
        self.application: BriefbotApp = build_application(
            services, schedule_digests=schedule_digests, polling=webhook_url is None
        )
        self.exit_code: int | None = None
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bot", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.exit_code = self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by stop()
            self._error = exc
        finally:
            self.services.close()

    async def _serve(self) -> int:
        self._stop = asyncio.Event()
        webhook = None
        if self.webhook_url is not None:
            webhook = WebhookServer(
                self.application, self.webhook_url, self.listen or "127.0.0.1:0"
            )
        runner = Runner(
            self.application, webhook=webhook, polling=Polling(timeout=1), stop=self._stop
        )
        return await runner.run()

    def start(self) -> RunningBot:
        self._thread.start()
        return self

    def wait_running(self, timeout: float = 60) -> None:
        """Until the Application is running: a stop asked for before that would be lost."""
        deadline = time.monotonic() + timeout
        while not self.application.running:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError(f"the bot did not start: {self._error!r}")
            time.sleep(0.01)

    def settle(self, timeout: float = 30) -> None:
        """Until every update received so far is handled to the end (its changes written:
        a reply goes out before the update's last transaction)."""
        deadline = time.monotonic() + timeout
        while self.services.inbox.counts().get("received", 0):
            if time.monotonic() > deadline:
                raise AssertionError(f"updates still pending: {self.services.inbox.counts()}")
            time.sleep(0.01)

    def call(self, coroutine: Any, timeout: float = 120) -> Any:
        """Run a coroutine on the bot's loop from the test thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.wait_running()
            assert self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=60)
        if not self._thread.is_alive():
            self._loop.close()
        if self._error is not None:
            raise self._error
