"""A Bot API stand-in: real HTTP on 127.0.0.1, enough of Telegram for Briefbot's tests.

It keeps chats, messages and pending updates, long-polls getUpdates like Telegram, checks the
same limits (4096 characters, parseable HTML, known chats), and behaves like the real thing
where bots trip: button presses expire after 15 s and are answered once, an edit that changes
nothing is refused, a second poller gets 409 Conflict, groups migrate to supergroups, forum
topics must exist, only the update types asked for are delivered. It can be told to fail.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "blockquote",
    "span",
    "tg-emoji",
}
TEXT_LIMIT = 4096
CALLBACK_TEXT_LIMIT = 200


CALLBACK_SECONDS = 15.0
UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "callback_query", "my_chat_member", "inline_query"
)  # fmt: skip
# An inline query must be answered within about 10 s (Telegram's own limit is not documented).
INLINE_SECONDS = 10.0


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        *,
        injected: bool = False,
        migrate_to: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.injected = injected  # told to fail by a test, not a mistake of the bot's
        self.migrate_to = migrate_to


class _EntityChecker(HTMLParser):
    """Telegram's HTML rules: known tags only, properly nested; collects the plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = self.error or f'unsupported start tag "{tag}"'
        if tag == "a" and not dict(attrs).get("href"):
            self.error = self.error or "a tag without href"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'unmatched end tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


_TAG = re.compile(r"</?[a-zA-Z-]+(\s[^<>]*)?>")
_BARE_AMPERSAND = re.compile(r"&(?!#?\w+;)")


def check_html(text: str) -> str:
    """Return the plain text of an HTML message or raise like Telegram does."""
    outside_tags = _TAG.sub("", text)
    if "<" in outside_tags or ">" in outside_tags or _BARE_AMPERSAND.search(outside_tags):
        raise ApiError(400, "Bad Request: can't parse entities: unescaped <, > or &")
    checker = _EntityChecker()
    checker.feed(text)
    checker.close()
    if checker.error or checker.stack:
        raise ApiError(
            400, f"Bad Request: can't parse entities: {checker.error or 'unclosed tag'}"
        )
    return "".join(checker.text)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    method: str
    code: int
    description: str
    retry_after: int | None
    times: int
    raw: bytes | None = None  # a malformed answer instead of JSON


@dataclass
class ErrorAnswer:
    at: int  # index in `calls`
    method: str
    description: str
    injected: bool


JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "entities",
    "results",
    "button",
}
INT_FIELDS = {"message_id", "offset", "limit", "user_id", "message_thread_id"}


def _multipart(kind: str, data: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The fields and the files (name -> (filename, content)) of a multipart/form-data body,
    as python-telegram-bot sends a request that uploads a file."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + data)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        content = part.get_payload(decode=True) or b""
        if filename is not None:
            files[str(name)] = (filename, content)
        elif name is not None:
            fields[str(name)] = content.decode()
    return fields, files


def _decode_params(raw: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS or (key == "chat_id" and value.lstrip("-").isdigit()):
            params[key] = int(value)
        elif key == "timeout":
            params[key] = float(value)
        else:
            params[key] = value
    return params


class _RawAnswer(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class QuietServer(ThreadingHTTPServer):
    """A killed bot drops its connections mid-request; that is expected, not an error."""

    daemon_threads = True
    # A starting bot opens dozens of connections at once; socketserver's default backlog of 5
    # makes the kernel drop handshakes, each costing the client a one-second retransmit.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeBotApi:
    def __init__(self, token: str = "123456:TEST-token", username: str = "briefbot_test_bot"):
        self.token = token
        self.bot_user = {
            "id": int(token.split(":", maxsplit=1)[0]),
            "is_bot": True,
            "first_name": "Briefbot",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.group_admins: dict[int, set[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._failures: list[Failure] = []
        self._drops: dict[str, int] = {}
        self._chat_failures: dict[int, list[tuple[Failure, float]]] = {}
        self.sent: list[dict[str, Any]] = []  # messages Telegram accepted, in order
        self.errors: list[ErrorAnswer] = []  # every error answer, injected or not
        self.queries: dict[str, float] = {}  # unanswered callback query -> when pressed
        self.migrated: dict[int, int] = {}  # old group id -> new supergroup id
        self.topics: dict[int, set[int]] = {}  # forum chat -> its topic ids
        self.user_languages: dict[int, str] = {}  # user id -> language_code of their app
        self.documents: list[dict[str, Any]] = []  # files the bot sent (sendDocument)
        self.inline_asked: dict[str, float] = {}  # inline query id -> when it was typed
        self.inline_answers: dict[str, dict[str, Any]] = {}  # inline query id -> the answer
        self._polling: int | None = None  # the poller's request number while it waits
        self._poll_numbers = itertools.count(1)
        self.conflicts = 0
        self.files: dict[str, bytes] = {}  # file_id -> content
        self.files_by_path: dict[str, bytes] = {}
        self.send_delay = 0.0  # seconds each sendMessage takes
        self.rate_limit: float | None = None  # sendMessage calls per second, all chats
        self.rejected_for_rate = 0
        # Requests whose connection closed before their body was complete, by method: a bot
        # killed after the headers went out and before the body did.
        self.cut_off: collections.Counter[str] = collections.Counter()
        self._recent_sends: collections.deque[float] = collections.deque()
        self.webhook: dict[str, str] | None = None
        self.webhook_allowed: list[str] = list(UPDATE_TYPES)
        self.webhook_attempts = 5
        self.webhook_retry_seconds = 0.5
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.balance_to: list[str] = []  # webhook posts go round-robin to these URLs
        self._balance_turn = itertools.count()
        self._cond = threading.Condition()
        self._server = QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- life cycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeBotApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # -- what tests do ------------------------------------------------------------------

    def user(self, user_id: int) -> dict[str, Any]:
        """A User object as Telegram sends it: with the language of the user's app, when
        `user_languages` has one."""
        body: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if user_id in self.user_languages:
            body["language_code"] = self.user_languages[user_id]
        return body

    def private_chat(self, user_id: int, first_name: str = "Reader") -> dict[str, Any]:
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        self.chats[user_id] = chat
        return chat

    def group_chat(
        self,
        chat_id: int,
        title: str = "News group",
        admins: set[int] | None = None,
        *,
        kind: str = "supergroup",
        forum: bool = False,
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": title}
        if forum:
            chat["is_forum"] = True
            self.topics[chat_id] = set()
        self.chats[chat_id] = chat
        self.group_admins[chat_id] = set(admins or ())
        return chat

    def topic(self, chat_id: int, thread_id: int) -> dict[str, Any]:
        """A forum topic; returns the fields a message in it carries."""
        self.topics[chat_id].add(thread_id)
        return {"message_thread_id": thread_id, "is_topic_message": True}

    def close_topic(self, chat_id: int, thread_id: int) -> None:
        self.topics[chat_id].discard(thread_id)

    def migrate(self, old_id: int, new_id: int, user_id: int) -> None:
        """A group becomes a supergroup: the service messages of both, and from then on
        sends to the old id fail with migrate_to_chat_id."""
        old = self.chats[old_id]
        new = self.group_chat(new_id, old.get("title", "News group"), self.group_admins[old_id])
        self.migrated[old_id] = new_id
        sender = self.user(user_id)
        self.push_update({"message": self._service(old, sender, migrate_to_chat_id=new_id)})
        self.push_update({"message": self._service(new, sender, migrate_from_chat_id=old_id)})

    def _service(self, chat: dict[str, Any], sender: dict[str, Any], **fields: Any):
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **fields,
        }

    def member_update(self, chat: dict[str, Any], user_id: int, old: str, new: str) -> int:
        """The bot's membership in a chat changed (added, removed, kicked, blocked)."""
        user = self.user(user_id)

        def member(status: str) -> dict[str, Any]:
            body: dict[str, Any] = {"status": status, "user": self.bot_user}
            if status == "kicked":
                body["until_date"] = 0
            return body

        change = {
            "chat": chat,
            "from": user,
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self.push_update({"my_chat_member": change})

    def fail_next_raw(self, method: str, body: bytes, status: int = 200, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with a malformed body."""
        with self._cond:
            self._failures.append(Failure(method, status, "", None, times, raw=body))

    def failed_calls(self, mark: int = 0) -> list[ErrorAnswer]:
        """Error answers after `mark` that no test asked for: the bot's own mistakes."""
        with self._cond:
            return [e for e in self.errors if e.at >= mark and not e.injected]

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        with self._cond:
            self._failures.append(Failure(method, code, description, retry_after, times))

    def drop_next(self, method: str, times: int = 1) -> None:
        """Hang up on the next `times` calls of `method` without answering (a reset)."""
        with self._cond:
            self._drops[method] = self._drops.get(method, 0) + times

    def _take_drop(self, method: str) -> bool:
        with self._cond:
            if self._drops.get(method, 0) > 0:
                self._drops[method] -= 1
                self.calls.append(Call(method, {}, time.monotonic()))
                return True
            return False

    def fail_chat(
        self,
        chat_id: int,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        hang: float = 0.0,
    ) -> None:
        """The next `times` sendMessage calls to this chat fail; `hang` delays the answer
        (longer than the client waits: a timeout) and nothing is delivered."""
        with self._cond:
            failure = Failure("sendMessage", code, description, retry_after, times)
            self._chat_failures.setdefault(chat_id, []).append((failure, hang))

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def sent_counts(self) -> collections.Counter[int]:
        with self._cond:
            return collections.Counter(m["chat"]["id"] for m in self.sent)

    def wait_sent(self, total: int, timeout: float = 60.0) -> None:
        """Wait until Telegram accepted `total` messages in all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.sent) < total:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {total} messages, got {len(self.sent)}")
                self._cond.wait(remaining)

    def send_document(
        self, chat: dict[str, Any], user_id: int, name: str, content: bytes, **extra: Any
    ) -> int:
        """Queue a message with a document, as if a user sent a file."""
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = content
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "file_size": len(content),
            **extra,
        }
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id),
            "document": document,
        }
        return self.push_update({"message": message})

    def mark(self) -> int:
        with self._cond:
            return len(self.calls)

    def send_text(self, chat: dict[str, Any], user_id: int | None, text: str, **extra: Any) -> int:
        """Queue a message update as if a user wrote `text`; returns the update id."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "text": text,
            **extra,
        }
        if user_id is not None:
            message["from"] = self.user(user_id)
        if text.startswith("/"):
            word = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(word)}]
        return self.push_update({"message": message})

    def press(self, chat_id: int, user_id: int, message_id: int, data: str) -> int:
        """Queue a button press on a message the bot sent."""
        message = self.messages[(chat_id, message_id)]
        query_id = str(next(self._callback_ids))
        with self._cond:
            self.queries[query_id] = time.monotonic()
        query = {
            "id": query_id,
            "from": self.user(user_id),
            "chat_instance": str(chat_id),
            "data": data,
            "message": message,
        }
        return self.push_update({"callback_query": query})

    def inline_query(self, user_id: int, query: str, offset: str = "") -> str:
        """Queue an inline query (`@bot words` typed in any chat); returns its id."""
        query_id = f"iq{next(self._callback_ids)}"
        with self._cond:
            self.inline_asked[query_id] = time.monotonic()
        body = {
            "id": query_id,
            "from": self.user(user_id),
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        }
        self.push_update({"inline_query": body})
        return query_id

    def inline_answer(self, query_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The bot's answer to an inline query, once it came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while query_id not in self.inline_answers:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"inline query {query_id} was not answered")
                self._cond.wait(left)
            return self.inline_answers[query_id]

    def push_update(self, body: dict[str, Any]) -> int:
        with self._cond:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, **body}
            if self.webhook is None:
                self._updates.append(update)
                self._cond.notify_all()
                return update_id
            webhook = self.webhook
            if not any(kind in update for kind in self.webhook_allowed):
                return update_id  # a type the bot did not ask for: never delivered
        # Like Telegram: post it to the webhook, and again later if that did not get a 2xx.
        threading.Thread(target=self._deliver, args=(webhook, update), daemon=True).start()
        return update_id

    def _deliver(self, webhook: dict[str, str], update: dict[str, Any]) -> None:
        for attempt in range(self.webhook_attempts):
            status = 0
            # A load balancer in front of several instances: the next one that answers.
            for _ in range(max(1, len(self.balance_to))):
                target = webhook
                if self.balance_to:
                    with self._cond:
                        url = self.balance_to[next(self._balance_turn) % len(self.balance_to)]
                    target = {**webhook, "url": url}
                status = self.post_to_webhook(update, target)
                if status != 0:
                    break
            with self._cond:
                self.webhook_deliveries.append((update["update_id"], status))
                self._cond.notify_all()
            if 200 <= status < 300:
                return
            time.sleep(self.webhook_retry_seconds * (attempt + 1))

    def post_to_webhook(
        self,
        update: dict[str, Any],
        webhook: dict[str, str] | None = None,
        secret: str | None = None,
    ) -> int:
        """POST one update to the webhook as Telegram does; the HTTP status (0: no answer)."""
        webhook = webhook or self.webhook
        assert webhook is not None, "no webhook set"
        headers = {"Content-Type": "application/json"}
        token = webhook.get("secret_token") if secret is None else secret
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        request = urllib.request.Request(
            webhook["url"], data=json.dumps(update).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def calls_since(self, mark: int, method: str | None = None) -> list[Call]:
        with self._cond:
            calls = self.calls[mark:]
        return [c for c in calls if method is None or c.method == method]

    def wait_for(
        self,
        mark: int,
        method: str,
        count: int = 1,
        timeout: float = 30.0,
        chat_id: int | None = None,
    ) -> list[Call]:
        """Wait until `count` calls of `method` (to `chat_id`) were made after `mark`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c
                    for c in self.calls[mark:]
                    if c.method == method
                    and (chat_id is None or c.params.get("chat_id") == chat_id)
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, c.params.get("text", "")[:60]) for c in self.calls[mark:]]
                    raise AssertionError(
                        f"expected {count} {method} calls, got {len(found)}: {seen}"
                    )
                self._cond.wait(remaining)

    def pending_updates(self) -> int:
        with self._cond:
            return len(self._updates)

    # -- the Bot API --------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm
                # and the client's delayed ACK hold each answer back about 40 ms.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                file_prefix = f"/file/bot{api.token}/"
                path = unquote(self.path)  # clients quote the token's colon
                if path.startswith(file_prefix):
                    content = api.files_by_path.get(path[len(file_prefix) :])
                    if content is None:
                        self._reply(
                            404, {"ok": False, "error_code": 404, "description": "Not Found"}
                        )
                        return
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                    return
                self._serve({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    data = self.rfile.read(length) if length else b""
                except ConnectionError:
                    data = b""
                if len(data) < length:
                    with api._cond:
                        api.cut_off[self.path.rsplit("/", 1)[-1].split("?")[0]] += 1
                    self.close_connection = True
                    return
                kind = self.headers.get("Content-Type", "")
                if kind.startswith("multipart/form-data"):
                    self._serve(*_multipart(kind, data))
                    return
                body = data.decode()
                if "json" in kind:
                    raw = {
                        k: v if isinstance(v, str) else json.dumps(v)
                        for k, v in json.loads(body or "{}").items()
                    }
                else:
                    raw = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                self._serve(raw)

            def _serve(
                self, raw: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None
            ) -> None:
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    self._reply(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                    return
                method = self.path[len(prefix) :].split("?")[0]
                if api._take_drop(method):
                    self.close_connection = True  # hang up without an answer
                    return
                try:
                    params = _decode_params(raw)
                    if files:
                        params["_files"] = files
                    result = api._dispatch(method, params)
                except ApiError as exc:
                    with api._cond:
                        at = len(api.calls) - 1
                        api.errors.append(ErrorAnswer(at, method, exc.description, exc.injected))
                    payload: dict[str, Any] = {
                        "ok": False,
                        "error_code": exc.code,
                        "description": exc.description,
                    }
                    if exc.retry_after is not None:
                        payload["parameters"] = {"retry_after": exc.retry_after}
                    if exc.migrate_to is not None:
                        payload["parameters"] = {"migrate_to_chat_id": exc.migrate_to}
                    self._reply(exc.code, payload)
                    return
                except _RawAnswer as raw_answer:
                    self._reply_raw(raw_answer.status, raw_answer.body)
                    return
                self._reply(200, {"ok": True, "result": result})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                self._reply_raw(status, json.dumps(payload).encode())

            def _reply_raw(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # The client may have given up, e.g. a long poll cancelled at shutdown.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        return Handler

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if method != "getUpdates":
            with self._cond:
                self.calls.append(Call(method, params))
                self._cond.notify_all()
                for failure in self._failures:
                    if failure.method == method and failure.times > 0:
                        failure.times -= 1
                        if failure.raw is not None:
                            raise _RawAnswer(failure.code, failure.raw)
                        raise ApiError(
                            failure.code, failure.description, failure.retry_after, injected=True
                        )
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        return handler(params)

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to=self.migrated[chat_id],
            )
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _api_getMe(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return self.bot_user

    def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self.webhook = None
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token", "")}
        self.webhook_allowed = params.get("allowed_updates") or list(UPDATE_TYPES)
        with self._cond:
            pending, self._updates = self._updates, []
        for update in pending:  # what was waiting for getUpdates now goes to the webhook
            threading.Thread(
                target=self._deliver, args=(self.webhook, update), daemon=True
            ).start()
        return True

    def _api_getUpdates(self, params: dict[str, Any]) -> Any:  # noqa: N802
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or list(UPDATE_TYPES)
        with self._cond:
            # Like Telegram: a newer getUpdates ends one that is still waiting with 409.
            number = next(self._poll_numbers)
            self._polling = number
            self._cond.notify_all()
            while True:
                if self._polling != number:
                    self.conflicts += 1
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                self._updates = [
                    u
                    for u in self._updates
                    if u["update_id"] >= offset and any(kind in u for kind in allowed)
                ]
                if self._updates:
                    batch = self._updates[:limit]
                    self.calls.append(Call("getUpdates", {**params, "delivered": len(batch)}))
                    self._polling = None
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._polling = None
                    return []
                self._cond.wait(min(remaining, 0.5))

    def _new_message(self, chat_id: Any, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(chat_id)
        thread = params.get("message_thread_id")
        if thread is not None and thread not in self.topics.get(chat["id"], set()):
            raise ApiError(400, "Bad Request: message thread not found")
        text = params.get("text", "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain = check_html(text) if params.get("parse_mode") == "HTML" else text
        if len(plain) > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": plain,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        return message

    def _check_send_limits(self, chat_id: Any) -> None:
        hang = 0.0
        with self._cond:
            for failure, delay in self._chat_failures.get(chat_id, []):
                if failure.times > 0:
                    failure.times -= 1
                    hang = delay
                    error = ApiError(
                        failure.code, failure.description, failure.retry_after, injected=True
                    )
                    break
            else:
                error = None
            if error is None and self.rate_limit is not None:
                now = time.monotonic()
                while self._recent_sends and now - self._recent_sends[0] >= 1.0:
                    self._recent_sends.popleft()
                if len(self._recent_sends) >= self.rate_limit:
                    self.rejected_for_rate += 1
                    error = ApiError(
                        429, "Too Many Requests: retry after 1", retry_after=1, injected=True
                    )
                else:
                    self._recent_sends.append(now)
        if error is not None:
            if hang:
                time.sleep(hang)
            raise error

    def _api_sendMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self._check_send_limits(params.get("chat_id"))
        message = self._new_message(params.get("chat_id"), params)
        with self._cond:
            self.messages[(message["chat"]["id"], message["message_id"])] = message
            self.sent.append(message)
            self._cond.notify_all()
        params["_message_id"] = message["message_id"]
        if self.send_delay:
            time.sleep(self.send_delay)  # delivered already; only the answer is slow
        return message

    def _api_answerInlineQuery(self, params: dict[str, Any]) -> Any:  # noqa: N802
        query_id = str(params.get("inline_query_id", ""))
        with self._cond:
            asked = self.inline_asked.get(query_id)
        if asked is None or time.monotonic() - asked > INLINE_SECONDS:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        results = params.get("results") or []
        if len(results) > 50:
            raise ApiError(400, "Bad Request: too many results")
        ids = [str(r.get("id", "")) for r in results]
        if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            content = result.get("input_message_content") or {}
            if result.get("type") != "article" or not result.get("title"):
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
            message = content.get("message_text", "")
            plain = check_html(message) if content.get("parse_mode") == "HTML" else message
            if not plain.strip() or len(plain) > TEXT_LIMIT:
                raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
        if len(str(params.get("next_offset", "")).encode()) > 64:
            raise ApiError(400, "Bad Request: NEXT_OFFSET_INVALID")
        with self._cond:
            self.inline_answers[query_id] = params
            self._cond.notify_all()
        return True

    def _api_sendDocument(self, params: dict[str, Any]) -> Any:  # noqa: N802
        """A file sent to a chat: kept in `documents` with its name, content and caption."""
        self._check_send_limits(params.get("chat_id"))
        files = params.pop("_files", {})
        if "document" not in files:
            raise ApiError(400, "Bad Request: there is no document in the request")
        filename, content = files["document"]
        if not content:
            raise ApiError(400, "Bad Request: file must be non-empty")
        caption = params.get("caption", "")
        plain = check_html(caption) if caption and params.get("parse_mode") == "HTML" else caption
        chat = self._chat(params.get("chat_id"))
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "document": {
                "file_id": f"sent{len(self.documents)}",
                "file_unique_id": f"usent{len(self.documents)}",
                "file_name": filename,
                "file_size": len(content),
            },
            "caption": plain,
        }
        with self._cond:
            self.documents.append(
                {"chat_id": chat["id"], "filename": filename, "content": content, "caption": plain}
            )
            self._cond.notify_all()
        return message

    def _api_editMessageText(self, params: dict[str, Any]) -> Any:  # noqa: N802
        key = (params.get("chat_id"), params.get("message_id"))
        old = self.messages.get(key)  # type: ignore[arg-type]
        if old is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        new = self._new_message(params.get("chat_id"), params)
        if new["text"] == old["text"] and new.get("reply_markup") == old.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        new["message_id"] = old["message_id"]
        new["edit_date"] = int(time.time())
        with self._cond:
            self.messages[key] = new  # type: ignore[index]
        return new

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:  # noqa: N802
        if len(params.get("text", "")) > CALLBACK_TEXT_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._cond:
            pressed = self.queries.pop(str(params.get("callback_query_id")), None)
        if pressed is None or time.monotonic() - pressed > CALLBACK_SECONDS:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        return True

    def late_answers(self) -> int:
        """Button presses answered too late, or not at all yet after 15 s."""
        late = sum(
            1
            for e in self.errors
            if e.method == "answerCallbackQuery" and "too old" in e.description
        )
        now = time.monotonic()
        with self._cond:
            return late + sum(1 for t in self.queries.values() if now - t > CALLBACK_SECONDS)

    def _api_sendChatAction(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self._chat(params.get("chat_id"))
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        scope = params.get("scope") or {"type": "default"}
        if scope.get("type") == "chat":
            self._chat(scope.get("chat_id"))
        for command in params.get("commands", []):
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.islower() and name.replace("_", "").isalnum()):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        language = params.get("language_code") or ""
        if language and not (len(language) == 2 and language.isalpha() and language.islower()):
            raise ApiError(400, "Bad Request: LANGUAGE_CODE_INVALID")
        key = json.dumps(scope, sort_keys=True) + (f" {language}" if language else "")
        self.commands[key] = params.get("commands", [])
        return True

    def _api_getFile(self, params: dict[str, Any]) -> Any:  # noqa: N802
        file_id = params.get("file_id", "")
        content = self.files.get(file_id)
        if content is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        path = f"documents/{file_id}"
        self.files_by_path[path] = content
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": path,
        }

    def _api_getChatMember(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat_id, user_id = params.get("chat_id"), params.get("user_id")
        self._chat(chat_id)
        status = "administrator" if user_id in self.group_admins.get(chat_id, set()) else "member"
        user = self.user(user_id)
        if status == "administrator":
            return {
                "status": status,
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        return {"status": status, "user": user}
