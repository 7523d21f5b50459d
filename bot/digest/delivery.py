"""Sending one chat's digest: parts in order, retries for transient errors, records kept."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from enum import StrEnum

import httpx
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from briefbot.articles import ArticleStore
from briefbot.articles.deliveries import FAILED
from briefbot.articles.records import Delivery
from briefbot.articles.wire import WireJournal
from briefbot.bot.digest.compose import DigestMessage
from briefbot.bot.ratelimit import ALREADY_ACQUIRED, TelegramRateLimiter, retry_seconds

logger = logging.getLogger(__name__)

MAX_OPEN_REQUESTS = 64
_ON_THE_WIRE: ContextVar[Callable[[], None] | None] = ContextVar("digest_part", default=None)


async def mark_digest_part_sent(request: httpx.Request) -> None:
    """httpx request hook: record the digest part as in flight as its body is about to leave.

    The mark is made from httpcore's trace of this request when the body is about to be
    written, not when the hook runs: there is no suspension point from that trace event to the
    socket write, while marking at the headers left an await in between. The mark is a
    database call and then a wire-journal record (see `DigestSender._mark`); a crash before
    the record leaves the part to be sent again, a crash after it counts the part as sent.
    """
    mark = _ON_THE_WIRE.get()
    if mark is None or not request.url.path.endswith("/sendMessage"):
        return
    _ON_THE_WIRE.set(None)

    async def trace(event: str, _info: dict[str, object]) -> None:
        nonlocal mark
        if mark is not None and event.endswith("send_request_body.started"):
            mark, record = None, mark
            record()

    request.extensions = {**request.extensions, "trace": trace}


UNREACHABLE_MARKERS = ("chat not found", "bot was blocked", "user is deactivated", "kicked")


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


class DigestSender:
    def __init__(
        self,
        bot: Bot,
        store: ArticleStore,
        limiter: TelegramRateLimiter | None = None,
        *,
        journal: WireJournal | None = None,
        attempts: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.bot = bot
        self.store = store
        self.journal = journal
        self.limiter = limiter
        self.attempts = attempts
        self.backoff = backoff
        # Requests actually open at once; more would wait for a pooled connection and time out.
        self._in_flight = asyncio.Semaphore(MAX_OPEN_REQUESTS)

    async def _send(
        self, chat_id: int, message: DigestMessage, delivery_id: int, parts: int
    ) -> None:
        if self.limiter is not None:
            await self.limiter.acquire(chat_id)
        async with self._in_flight:
            # The part is marked in flight by the HTTP client's request hook, just before the
            # request goes out: a crash before that point leaves the part to be sent again.
            token = _ON_THE_WIRE.set(lambda: self._mark(delivery_id, parts))
            try:
                await self.bot.send_message(
                    chat_id,
                    message.text,
                    reply_markup=message.keyboard,
                    rate_limit_args=ALREADY_ACQUIRED if self.limiter is not None else None,
                )
            finally:
                _ON_THE_WIRE.reset(token)

    def _mark(self, delivery_id: int, parts: int) -> None:
        attempt = self.store.deliveries.start_part(delivery_id, parts)
        # The database call above gave up the GIL; this store into the journal does not, so
        # from here to the socket write nothing waits (see briefbot.articles.wire).
        if self.journal is not None:
            self.journal.record(delivery_id, attempt)

    async def deliver(self, delivery: Delivery, messages: list[DigestMessage]) -> Outcome:
        deliveries = self.store.deliveries
        for index in range(delivery.parts_sent, len(messages)):
            message = messages[index]
            for attempt in range(1, self.attempts + 1):
                try:
                    await self._send(delivery.chat_id, message, delivery.id, len(messages))
                except (Forbidden, BadRequest) as exc:
                    deliveries.part_not_sent(delivery.id)
                    return self._refused(delivery, exc)
                except (RetryAfter, NetworkError) as exc:
                    # NetworkError covers 5xx answers, timeouts and dropped connections.
                    deliveries.part_not_sent(delivery.id)
                    if attempt == self.attempts:
                        deliveries.finish(
                            delivery.id, FAILED, f"gave up after {attempt} tries: {exc}"
                        )
                        return Outcome.FAILED
                    delay = self.backoff * 2 ** (attempt - 1)
                    if isinstance(exc, RetryAfter):
                        delay = max(delay, retry_seconds(exc))
                        if self.limiter is not None:
                            self.limiter.pause_for(retry_seconds(exc))
                    logger.info(
                        "Digest to %s: %s; retrying in %.1f s", delivery.chat_id, exc, delay
                    )
                    await asyncio.sleep(delay)
                except TelegramError as exc:
                    deliveries.part_not_sent(delivery.id)
                    deliveries.finish(delivery.id, FAILED, str(exc)[:500])
                    return Outcome.FAILED
                else:
                    deliveries.part_sent(delivery.id)
                    break
        if delivery.parts_sent >= len(messages):
            deliveries.complete(delivery.id)  # everything went out before a restart
        return Outcome.SENT

    def _refused(self, delivery: Delivery, exc: TelegramError) -> Outcome:
        reason = str(exc)[:500]
        if isinstance(exc, Forbidden) or any(m in reason.lower() for m in UNREACHABLE_MARKERS):
            self.store.set_subscribed(delivery.chat_id, False)
            self.store.deliveries.finish(delivery.id, FAILED, f"unsubscribed: {reason}")
            logger.info("Chat %s is unreachable (%s): unsubscribed", delivery.chat_id, reason)
            return Outcome.UNREACHABLE
        self.store.deliveries.finish(delivery.id, FAILED, reason)
        return Outcome.FAILED
