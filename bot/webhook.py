"""Webhook mode: Telegram posts updates to us; /health says whether this instance is well.

Each update is stored in the inbox before the 200 answer, so an instance that dies after
answering loses nothing (another instance, or this one after a restart, handles it), and a
retried delivery is handled once. When the database cannot store it, the answer is 503 and
Telegram delivers it again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import time
from typing import Any
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application

from briefbot.articles import StoreError
from briefbot.bot.config import Settings, parse_listen
from briefbot.bot.services import SERVICES_KEY, BotServices

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 2_000_000
DEFAULT_PATH = "/telegram"


def webhook_path(url: str) -> str:
    return urlsplit(url).path.rstrip("/") or DEFAULT_PATH


class UpdateEndpoint(tornado.web.RequestHandler):
    def initialize(self, bot_app: Application, secret: str) -> None:
        self.application_ = bot_app
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
        except ValueError:
            self.set_status(400)
            self.write({"ok": False, "error": "expected an update as JSON"})
            return
        svc: BotServices = self.application_.bot_data[SERVICES_KEY]
        try:
            new = svc.store.inbox.record([payload])
        except StoreError as exc:
            logger.error(
                "Update %s not stored, asking Telegram to retry: %s", payload["update_id"], exc
            )
            self.set_status(503)
            return
        if new:
            update = Update.de_json(payload, self.application_.bot)
            await self.application_.update_queue.put(update)
        else:
            logger.info("Update %d delivered again; already stored", payload["update_id"])
        self.set_status(200)


class HealthEndpoint(tornado.web.RequestHandler):
    def initialize(self, bot_app: Application, started: float) -> None:
        self.application_ = bot_app
        self.started = started

    def get(self) -> None:
        svc: BotServices = self.application_.bot_data[SERVICES_KEY]
        report: dict[str, Any] = {
            "status": "ok",
            "instance": svc.store.instances.id,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "model": svc.summaries.model_label,
            "queued_updates": self.application_.update_queue.qsize(),
        }
        try:
            report["articles"] = svc.store.count()
            report["updates"] = svc.store.inbox.counts()
            report["instances_alive"] = len(svc.store.instances.live_ids())
            report["database"] = "ok"
        except StoreError as exc:
            report["status"] = "degraded"
            report["database"] = str(exc)
        running = self.application_.running
        if not running:
            report["status"] = "stopping"
        self.set_status(200 if report["status"] == "ok" else 503)
        self.write(report)


def make_web_app(
    application: Application, settings: Settings, url: str
) -> tornado.web.Application:
    started = time.monotonic()
    return tornado.web.Application(
        [
            (
                webhook_path(url),
                UpdateEndpoint,
                {"bot_app": application, "secret": settings.webhook_secret_token()},
            ),
            ("/health", HealthEndpoint, {"bot_app": application, "started": started}),
        ]
    )


async def run_webhook(
    application: Application,
    settings: Settings,
    url: str,
    listen: str,
    *,
    stop: asyncio.Event | None = None,
    register: bool = True,
) -> None:
    """Serve until SIGTERM/SIGINT (or `stop`); the same life-cycle hooks as long polling."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(signum, stop.set)
    host, port = parse_listen(listen)
    server = tornado.httpserver.HTTPServer(
        make_web_app(application, settings, url), max_body_size=MAX_BODY_BYTES
    )
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        server.listen(port, host)
        if register:
            await application.bot.set_webhook(
                url,
                secret_token=settings.webhook_secret_token(),
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
                max_connections=100,
            )
        await application.start()
        logger.info("Webhook server on %s:%d, path %s", host, port, webhook_path(url))
        await stop.wait()
        logger.info("Stopping: no new updates; finishing the ones in hand")
        server.stop()
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
    finally:
        server.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
