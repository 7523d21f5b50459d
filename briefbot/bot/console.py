"""`briefbot console`: chat with the bot in a terminal, through the same handlers.

A BaseRequest answers the Bot API calls in process, so no token or network is needed.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from telegram import Update
from telegram.request import BaseRequest, RequestData

from briefbot.bot.app import build_application, start_services, stop_services
from briefbot.services import Services

CONSOLE_TOKEN = "1:console"
USER_ID = 1000
BOT_USER = {
    "id": 1,
    "is_bot": True,
    "first_name": "Briefbot",
    "username": "briefbot_console_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
USER = {"id": USER_ID, "is_bot": False, "first_name": "You"}
CHAT = {"id": USER_ID, "type": "private", "first_name": "You"}
_TAG = re.compile(r"<[^>]+>")
_URL = re.compile(r"https?://\S+")
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>')


def _utf16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def html_to_text(text: str) -> str:
    text = _LINK.sub(lambda m: f"{m.group(2)} ({html.unescape(m.group(1))})", text)
    return html.unescape(_TAG.sub("", text))


class ConsoleRequest(BaseRequest):
    """Answers Bot API methods locally and shows what the bot sends."""

    def __init__(self, show: Callable[[str, list[list[dict[str, Any]]]], None]) -> None:
        self._show = show
        self._message_ids = itertools.count(1)
        self.last_keyboard: list[list[dict[str, Any]]] = []

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result: Any = True
        if name == "getMe":
            result = BOT_USER
        elif name in ("sendMessage", "editMessageText"):
            markup = params.get("reply_markup") or {}
            keyboard = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
            if keyboard:
                self.last_keyboard = keyboard
            self._show(str(params.get("text", "")), keyboard)
            result = {
                "message_id": params.get("message_id") or next(self._message_ids),
                "date": int(time.time()),
                "chat": CHAT,
                "from": BOT_USER,
                "text": html_to_text(str(params.get("text", ""))),
            }
        elif name == "answerCallbackQuery" and params.get("text"):
            self._show(f"<i>{html.escape(str(params['text']))}</i>", [])
        elif name == "getChatMember":
            result = {"status": "creator", "user": USER, "is_anonymous": False}
        elif name == "getUpdates":
            result = []
        return 200, json.dumps({"ok": True, "result": result}).encode()


class ConsoleSession:
    """One private chat with the bot, as user 1000, who is a bot admin."""

    def __init__(self, services: Services, console: Console | None = None) -> None:
        self.console = console or Console()
        settings = services.settings.model_copy(
            update={"token": SecretStr(CONSOLE_TOKEN), "admins": frozenset({USER_ID})}
        )
        services.settings = settings
        services.background = None  # the console summarizes on demand
        self.request = ConsoleRequest(self._show)
        self.application = build_application(
            services, request=self.request, polling=False, schedule_digests=False
        )
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(10_000)

    def _show(self, text: str, keyboard: list[list[dict[str, Any]]]) -> None:
        self.console.print(f"[bold cyan]briefbot>[/] {html_to_text(text)}", highlight=False)
        buttons = [button["text"] for row in keyboard for button in row]
        if buttons:
            listed = "  ".join(f"[{i}] {label}" for i, label in enumerate(buttons, start=1))
            self.console.print(f"[dim]{listed}[/]", highlight=False)

    def _message_update(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": CHAT,
            "from": USER,
            "text": text,
        }
        entities = [
            {"type": "url", "offset": _utf16(text[: m.start()]), "length": _utf16(m.group())}
            for m in _URL.finditer(text)
        ]
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            entities.insert(0, {"type": "bot_command", "offset": 0, "length": length})
        if entities:
            message["entities"] = entities
        return {"update_id": next(self._update_ids), "message": message}

    def _button(self, index: int) -> dict[str, Any] | None:
        buttons = [button for row in self.request.last_keyboard for button in row]
        return buttons[index - 1] if 1 <= index <= len(buttons) else None

    def _button_update(self, button: dict[str, Any]) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._message_ids)),
                "from": USER,
                "chat_instance": "console",
                "data": button["callback_data"],
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": CHAT,
                    "text": "",
                },
            },
        }

    async def send(self, line: str) -> None:
        """Feed one line typed by the user: a command, text, or a button number."""
        line = line.strip()
        if not line:
            return
        if not line.isdigit():
            data = self._message_update(line)
        elif (button := self._button(int(line))) is None:
            self.console.print("[yellow]No such button.[/]")
            return
        elif "url" in button:  # a link (the source, Share): Telegram would open it
            self.console.print(f"🔗 {button['url']}", markup=False)
            return
        else:
            data = self._button_update(button)
        await self.application.process_update(Update.de_json(data, self.application.bot))

    async def run(self, read_line: Callable[[str], str] = input) -> None:
        async with self.application:
            await start_services(self.application)
            self.console.print(
                "Briefbot console: each line you type is one message to the bot (you are its "
                "admin). Try /start, /summary, /next, /latest, /help, or paste an article or "
                "a link; a number presses a button; quit with Ctrl-D or 'quit'."
            )
            try:
                while True:
                    try:
                        line = await asyncio.to_thread(read_line, "you> ")
                    except (EOFError, KeyboardInterrupt):
                        break
                    if line.strip().lower() in {"quit", "exit"}:
                        break
                    await self.send(line)
            finally:
                await stop_services(self.application)
