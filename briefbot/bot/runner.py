"""Running the bot: connect, start, serve by long polling or webhook, stop in order.

A Bot API server that fails at start-up is waited for, with one log line per try; a token it
rejects ends the start with one line. A second process polling with the same token is told
apart from this one: the newer Briefbot instance stops, saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass

from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

from briefbot.bot.app import (
    ALLOWED_UPDATES,
    BriefbotApp,
    StartError,
    start_services,
    stop_services,
)
from briefbot.bot.webhook import WebhookServer

logger = logging.getLogger(__name__)

CONFLICT_LOG_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Polling:
    timeout: int = 10
    interval: float = 0.0


class Runner:
    def __init__(
        self,
        application: BriefbotApp,
        *,
        webhook: WebhookServer | None = None,
        polling: Polling | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.application = application
        self.webhook = webhook
        self.polling = polling or Polling()
        self.stop = stop or asyncio.Event()
        self.exit_code = 0
        self._conflict_logged = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def _api_url(self) -> str:
        return self.application.bot_data.services.settings.api_url

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or `stop`); returns the exit status."""
        if threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, self.stop.set)
        application = self.application
        if not await self._connect():
            return self.exit_code
        try:
            await start_services(application)
            if self.webhook is not None:
                await self.webhook.start(self.stop)
            elif application.updater is not None:
                await application.updater.start_polling(
                    poll_interval=self.polling.interval,
                    timeout=self.polling.timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                    bootstrap_retries=-1,
                    error_callback=self._polling_error,
                )
            await application.start()
            await self.stop.wait()
            logger.info("Stopping: no new updates; finishing the ones in hand")
        finally:
            await self._stop()
        return self.exit_code

    async def _connect(self) -> bool:
        """Application.initialize (getMe), retried while the Bot API server is unreachable."""
        delay = 1.0
        while not self.stop.is_set():
            try:
                await self.application.initialize()
                return True
            except InvalidToken:
                raise StartError(
                    f"the Bot API server at {self._api_url} rejected the token "
                    "(BRIEFBOT_TOKEN): check it with @BotFather"
                ) from None
            except (NetworkError, RetryAfter) as exc:
                logger.warning(
                    "The Bot API server at %s is not answering (%s); trying again in %.0f s",
                    self._api_url,
                    exc,
                    delay,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            delay = min(delay * 2, 60.0)
        return False

    async def _stop(self) -> None:
        application = self.application
        await stop_services(application)
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if self.webhook is not None:
            self.webhook.stop()
        if application.running:
            await application.stop()
        if application.bot_data.tasks:  # menus for admins added while stopping
            await stop_services(application)
        await application.shutdown()

    def _polling_error(self, exc: TelegramError) -> None:
        if isinstance(exc, Conflict):
            task = asyncio.create_task(self._on_conflict())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        logger.warning("Polling for updates failed (%s); trying again", exc)

    async def _on_conflict(self) -> None:
        services = self.application.bot_data.services
        instances = services.instances
        live = await services.db.run(instances.live)
        older = [
            i
            for i in live
            if i.role == "polling" and i.id != instances.id and i.started_at < instances.started_at
        ]
        if older:
            other = older[0]
            logger.error(
                "Another Briefbot instance is polling with this token (%s on %s, running since "
                "%s). Only one may poll: stopping this one. To run several, use webhook mode.",
                other.id,
                other.host,
                f"{other.started_at:%Y-%m-%d %H:%M} UTC",
            )
            self.exit_code = 1
            self.stop.set()
            return
        if time.monotonic() - self._conflict_logged > CONFLICT_LOG_SECONDS:
            self._conflict_logged = time.monotonic()
            logger.warning(
                "Another program is polling with this token (Telegram answered 409 Conflict): "
                "updates go to one poller at a time. Stop the other one, or use webhook mode."
            )
