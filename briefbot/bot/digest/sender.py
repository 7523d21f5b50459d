"""Sending one chat's digest: parts in order, transient errors retried, every step recorded.

Each part is marked in flight in the database just before it is sent and recorded as sent
after (see briefbot.chats.deliveries): a digest is never sent twice, and a crash can lose only
the parts on their way at that moment. A part whose answer never came (a timeout, a broken
connection) may have arrived, so it counts as sent too.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import Any

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from briefbot.bot.digest.compose import DigestMessage
from briefbot.bot.ratelimit import (
    ALREADY_ACQUIRED,
    TelegramRateLimiter,
    may_have_arrived,
    retry_seconds,
)
from briefbot.chats import Delivery, DeliveryState
from briefbot.services import Services

logger = logging.getLogger(__name__)

MAX_OPEN_REQUESTS = 64
UNREACHABLE_MARKERS = ("chat not found", "bot was blocked", "user is deactivated", "kicked")
NO_ANSWER = "a part's answer never came (it may have arrived): counted as sent, not sent again"


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


class DigestSender:
    def __init__(
        self,
        bot: ExtBot[Any],
        services: Services,
        limiter: TelegramRateLimiter | None = None,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.bot = bot
        self.services = services
        self.limiter = limiter
        self.attempts = attempts
        self.backoff = backoff
        # Requests open at once; more would wait for a pooled connection and time out.
        self._open = asyncio.Semaphore(MAX_OPEN_REQUESTS)

    async def deliver(
        self, delivery: Delivery, messages: list[DigestMessage], thread_id: int | None = None
    ) -> DeliveryOutcome:
        db, deliveries, chats = self.services.db, self.services.deliveries, self.services.chats
        chat_id = delivery.chat_id
        for index in range(delivery.parts_sent, len(messages)):
            message, last_error = messages[index], ""
            for attempt in range(1, self.attempts + 1):
                if self.limiter is not None:
                    await self.limiter.acquire(chat_id)
                try:
                    async with self._open:
                        # As late as can be: from this mark on, a crash counts the part sent.
                        await db.run(deliveries.start_part, delivery.id, len(messages))
                        await self.bot.send_message(
                            chat_id,
                            message.text,
                            reply_markup=message.keyboard,
                            message_thread_id=thread_id,
                            rate_limit_args=ALREADY_ACQUIRED if self.limiter else None,
                        )
                except ChatMigrated as exc:  # a group became a supergroup: follow it
                    await db.run(deliveries.part_not_sent, delivery.id)
                    await db.run(chats.migrate, chat_id, exc.new_chat_id)
                    chat_id = exc.new_chat_id
                except (Forbidden, BadRequest) as exc:
                    await db.run(deliveries.part_not_sent, delivery.id)
                    if thread_id is None or "thread not found" not in exc.message.lower():
                        return await self._refused(delivery, exc)
                    await db.run(chats.forget_digest_topic, chat_id)
                    thread_id = None  # the topic is gone: the main chat gets the digest
                except (RetryAfter, NetworkError) as exc:
                    if isinstance(exc, NetworkError) and may_have_arrived(exc):
                        await db.run(deliveries.part_sent, delivery.id, NO_ANSWER)
                        break
                    await db.run(deliveries.part_not_sent, delivery.id)
                    last_error = str(exc)
                    delay = self.backoff * 2 ** (attempt - 1)
                    if isinstance(exc, RetryAfter):
                        delay = max(delay, retry_seconds(exc))
                        if self.limiter is not None:
                            self.limiter.pause_for(retry_seconds(exc))
                    logger.info("Digest to %s: %s; retrying in %.1f s", chat_id, exc, delay)
                    if attempt < self.attempts:
                        await asyncio.sleep(delay)
                except TelegramError as exc:
                    await db.run(deliveries.part_not_sent, delivery.id)
                    await db.run(deliveries.finish, delivery.id, DeliveryState.FAILED, str(exc))
                    return DeliveryOutcome.FAILED
                else:
                    await db.run(deliveries.part_sent, delivery.id)
                    break
            else:
                reason = f"gave up after {self.attempts} tries: {last_error}"
                await db.run(deliveries.finish, delivery.id, DeliveryState.FAILED, reason)
                return DeliveryOutcome.FAILED
        if delivery.parts_sent >= len(messages):
            await db.run(deliveries.complete, delivery.id)  # everything left before a restart
        return DeliveryOutcome.SENT

    async def _refused(self, delivery: Delivery, exc: TelegramError) -> DeliveryOutcome:
        db, reason = self.services.db, str(exc)[:500]
        if isinstance(exc, Forbidden) or any(m in reason.lower() for m in UNREACHABLE_MARKERS):
            await db.run(self.services.chats.set_subscribed, delivery.chat_id, False)
            await db.run(
                self.services.deliveries.finish,
                delivery.id,
                DeliveryState.FAILED,
                f"unsubscribed: {reason}",
            )
            logger.info("Chat %s is unreachable (%s): unsubscribed", delivery.chat_id, reason)
            return DeliveryOutcome.UNREACHABLE
        await db.run(self.services.deliveries.finish, delivery.id, DeliveryState.FAILED, reason)
        return DeliveryOutcome.FAILED
