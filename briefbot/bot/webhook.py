"""Webhook mode: Telegram posts updates to us; /health says whether this instance is well.

Each update goes through the intake (the flood gate, then the inbox) before the 200 answer,
so an instance that dies after answering loses nothing (another instance, or this one after
a restart, handles it), and a retried delivery is handled once. When the database cannot
store it, the answer is 503 and Telegram delivers it again later.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.error import BadRequest, InvalidToken, TelegramError

from briefbot.bot.app import ALLOWED_UPDATES, BriefbotApp, StartError
from briefbot.config import parse_listen
from briefbot.database import StoreError

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 2_000_000
DEFAULT_PATH = "/telegram"


def webhook_path(url: str) -> str:
    return urlsplit(url).path.rstrip("/") or DEFAULT_PATH


class UpdateEndpoint(tornado.web.RequestHandler):
    def initialize(self, bot_app: BriefbotApp, secret: str) -> None:
        self.bot_app = bot_app
        self.secret = secret

    def check_xsrf_cookie(self) -> None:  # Telegram sends no cookies
        pass

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            logger.warning("Webhook call without the right secret from %s", self.request.remote_ip)
            self.set_status(403)
            return
        try:
            payload: Any = json.loads(self.request.body)
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("no update_id")
            update = Update.de_json(payload, self.bot_app.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(400)
            self.write({"ok": False, "error": "expected an update as JSON"})
            return
        data = self.bot_app.bot_data
        try:
            accepted = await data.intake.accept([update])
        except StoreError as exc:
            logger.error(
                "Update %s not stored, asking Telegram to retry: %s", update.update_id, exc
            )
            self.set_status(503)
            return
        for admitted in accepted:
            await self.bot_app.update_queue.put(admitted)
        self.set_status(200)


class HealthEndpoint(tornado.web.RequestHandler):
    def initialize(self, bot_app: BriefbotApp, started: float) -> None:
        self.bot_app = bot_app
        self.started = started

    async def get(self) -> None:
        services = self.bot_app.bot_data.services
        report: dict[str, Any] = {
            "status": "ok",
            "instance": services.instances.id,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "model": services.summaries.label,
            "queued_updates": self.bot_app.update_queue.qsize(),
        }
        try:
            report["articles"] = await services.db.run(services.library.count)
            report["updates"] = await services.db.run(services.inbox.counts)
            report["instances_alive"] = len(await services.db.run(services.instances.live))
            report["database"] = "ok"
        except StoreError as exc:
            report["status"] = "degraded"
            report["database"] = str(exc)
        if not self.bot_app.running:
            report["status"] = "stopping"
        self.set_status(200 if report["status"] == "ok" else 503)
        self.write(report)


class WebhookServer:
    """The HTTP server for webhook mode, and the webhook's registration with Telegram."""

    def __init__(self, application: BriefbotApp, url: str, listen: str, *, register: bool = True):
        self.application = application
        self.url = url
        self.host, self.port = parse_listen(listen)
        self.register = register
        settings = application.bot_data.services.settings
        self.secret = settings.webhook_secret_token()
        web_app = tornado.web.Application(
            [
                (
                    webhook_path(url),
                    UpdateEndpoint,
                    {"bot_app": application, "secret": self.secret},
                ),
                ("/health", HealthEndpoint, {"bot_app": application, "started": time.monotonic()}),
            ]
        )
        self.server = tornado.httpserver.HTTPServer(web_app, max_body_size=MAX_BODY_BYTES)

    async def start(self, stop: asyncio.Event) -> None:
        self.server.listen(self.port, self.host)
        logger.info(
            "Webhook server on %s:%d, path %s", self.host, self.port, webhook_path(self.url)
        )
        if self.register:
            await self._set_webhook(stop)

    async def _set_webhook(self, stop: asyncio.Event) -> None:
        """Register the URL with Telegram; a transient failure is tried again (updates wait
        at Telegram meanwhile), a refusal stops the start."""
        delay = 1.0
        while not stop.is_set():
            try:
                await self.application.bot.set_webhook(
                    self.url,
                    secret_token=self.secret,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                    max_connections=100,
                )
                return
            except (BadRequest, InvalidToken) as exc:
                raise StartError(f"Telegram refused the webhook {self.url}: {exc}") from None
            except TelegramError as exc:
                logger.warning(
                    "Could not set the webhook (%s); trying again in %.0f s", exc, delay
                )
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, 60.0)

    def stop(self) -> None:
        self.server.stop()
