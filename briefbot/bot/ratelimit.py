"""Every request the bot makes passes here: Telegram's flood limits, and retries.

python-telegram-bot's AIORateLimiter lets bursts through its overall limit and does not pace
private chats. Digest fan-out needs both: sends are spaced evenly at the configured overall
rate (no bursts), each private chat gets about one message a second and each group twenty a
minute (small bursts allowed), and a RetryAfter answer pauses all sending, then retries.

Transient failures are retried with backoff: a 5xx answer, a refused or timed-out connection.
A send whose request may have reached Telegram (the answer timed out, or the connection broke
after the request went out) is not repeated: replies are sent at most once, never twice.
Other calls (edits, button answers, menus) change nothing when repeated and are retried too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]


class _AlreadyAcquired:
    """rate_limit_args marker: the caller waited its turn with `acquire` and retries itself."""


ALREADY_ACQUIRED: Any = _AlreadyAcquired()


class TokenBucket:
    """Reservation-style bucket: each caller learns how long to wait; tokens may go negative."""

    __slots__ = ("capacity", "per_second", "tokens", "updated")

    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take a token even if it is not there yet; returns how long to wait for it."""
        self._refill(now)
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.per_second

    def try_take(self, now: float) -> float:
        """Take a token if there is one (0.0), else take nothing and say how long to wait."""
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second

    def idle(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.per_second >= self.capacity


class Buckets:
    """A token bucket per key (chat, user), made on first use; buckets that are full again
    are dropped now and then, so memory follows the active keys, not every key ever seen."""

    PRUNE_SECONDS = 60.0

    def __init__(self, capacity: float, per_second: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._buckets: dict[int | str, TokenBucket] = {}
        self._pruned = 0.0

    def __len__(self) -> int:
        return len(self._buckets)

    def get(self, key: int | str, now: float) -> TokenBucket:
        if now - self._pruned > self.PRUNE_SECONDS:
            self._pruned = now
            self._buckets = {k: b for k, b in self._buckets.items() if not b.idle(now)}
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.capacity, self.per_second, now)
        return bucket


class TelegramRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        overall_per_second: float = 25.0,
        *,
        private_per_second: float = 1.0,
        private_burst: int = 3,
        group_per_minute: int = 20,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.overall_per_second = overall_per_second
        self._interval = 1.0 / overall_per_second
        self._last_release = float("-inf")
        self._release = asyncio.Lock()
        self._private = Buckets(float(private_burst), private_per_second)
        self._groups = Buckets(float(group_per_minute), group_per_minute / 60.0)
        self._max_retries = max_retries
        self._backoff = backoff
        self._resume_at = 0.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _chat_bucket(self, chat_id: int | str, now: float) -> TokenBucket:
        is_group = isinstance(chat_id, str) or chat_id < 0
        return (self._groups if is_group else self._private).get(chat_id, now)

    async def acquire(self, chat_id: int | str) -> None:
        """Wait for this chat's turn to receive a message; then send with ALREADY_ACQUIRED."""
        await self._wait_turn(chat_id, counts_as_message=True)

    def pause_for(self, seconds: float) -> None:
        """Hold every request back, as after a RetryAfter answer."""
        loop = asyncio.get_running_loop()
        self._resume_at = max(self._resume_at, loop.time() + seconds + 0.1)
        logger.warning("Flood limit: pausing all sending for %.1f s", seconds)

    async def _wait_turn(self, chat_id: int | str | None, counts_as_message: bool) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = max(0.0, self._resume_at - now)
        if chat_id is not None and counts_as_message:
            delay = max(delay, self._chat_bucket(chat_id, now).reserve(now))
        if delay > 0:
            await asyncio.sleep(delay)
        if chat_id is None:
            return
        # Overall: one release at a time on an evenly spaced timeline. A late wake-up is made
        # up by the next release, but never by more than one interval, so there is no burst.
        async with self._release:
            now = loop.time()
            target = max(self._last_release + self._interval, now - self._interval)
            target = max(target, self._resume_at)
            if target > now:
                await asyncio.sleep(target - now)
            self._last_release = target

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        if rate_limit_args is ALREADY_ACQUIRED:
            return await callback(*args, **kwargs)
        is_send = is_message(endpoint)
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._wait_turn(chat_id, is_send)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                self.pause_for(retry_seconds(exc))
            except NetworkError as exc:
                if (
                    isinstance(exc, BadRequest)
                    or attempt == retries
                    or (is_send and may_have_arrived(exc))
                ):
                    raise
                delay = self._backoff * 2**attempt
                logger.warning("Bot API %s failed (%s); retrying in %.1f s", endpoint, exc, delay)
                await asyncio.sleep(delay)
        raise RuntimeError("unreachable")  # pragma: no cover


def is_message(endpoint: str) -> bool:
    """Whether a Bot API method sends a message (and so counts against the chat's limits)."""
    return endpoint.startswith(("send", "copy", "forward")) and endpoint != "sendChatAction"


def may_have_arrived(exc: NetworkError) -> bool:
    """Whether a failed request may still have reached Telegram: its answer timed out, or
    the connection broke after it went out. An error answer (5xx) or a connection that was
    never made means it did not."""
    cause = exc.__cause__
    never_left = (
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
        httpx.WriteError,
        httpx.WriteTimeout,
    )
    if isinstance(cause, never_left):
        return False
    return isinstance(exc, TimedOut) or isinstance(cause, httpx.HTTPError)


def retry_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


class UserQuota:
    """`per_minute` new summaries per user, refilled evenly; 0 means no limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets = Buckets(per_minute, per_minute / 60)

    def take(self, user_id: int, now: float | None = None) -> float:
        """0 if the user may have one more now, else the seconds until they may."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        return self._buckets.get(user_id, now).try_take(now)
