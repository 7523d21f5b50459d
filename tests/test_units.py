"""Unit tests of the small parts: callback data, token buckets and the rate limiter's retries,
digest composition, the flood gate's verdicts, and the logging's token redaction."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, date, datetime

import httpx
import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from briefbot.articles import Article
from briefbot.bot.callbacks import Action, ButtonPress, decode, encode
from briefbot.bot.digest.compose import DigestItem, compose
from briefbot.bot.ratelimit import TelegramRateLimiter, TokenBucket, may_have_arrived
from briefbot.logs import JsonFormatter, QuietStreamHandler, Redacting


def test_callback_data_round_trips_and_refuses_anything_else():
    for action in Action:
        assert decode(encode(action, 12)) == ButtonPress(action, 12)
    assert len(encode(Action.OPEN, 2**31)) <= 64  # Telegram's limit for callback data
    for data in (None, "", "a1:", "a1:x:1", "a1:s:-1", "a0:s:1", "a1:s:1 ", "a1:s:" + "9" * 13):
        assert decode(data) is None


def test_token_bucket_reserves_ahead_and_refills():
    bucket = TokenBucket(capacity=3, per_second=1.0, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert bucket.try_take(0.0) > 0  # nothing left: try_take takes nothing
    assert bucket.try_take(3.0) == 0.0  # three seconds refill what was reserved, and one more
    assert not bucket.idle(3.0) and bucket.idle(10.0)


def _limiter() -> TelegramRateLimiter:
    return TelegramRateLimiter(10_000, backoff=0.0)


def _failing(*errors: Exception):
    calls: list[int] = []

    async def callback() -> dict[str, bool]:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return {"ok": True}

    return callback, calls


def _request(limiter, callback, endpoint="sendMessage"):
    return asyncio.run(limiter.process_request(callback, (), {}, endpoint, {"chat_id": 5}, None))


def test_a_server_error_is_retried_and_a_refusal_is_not():
    callback, calls = _failing(NetworkError("Bad Gateway"), NetworkError("Internal Server Error"))
    assert _request(_limiter(), callback) == {"ok": True} and len(calls) == 3
    callback, calls = _failing(BadRequest("chat not found"))
    with pytest.raises(BadRequest):
        _request(_limiter(), callback)
    assert len(calls) == 1
    callback, calls = _failing(*[NetworkError("Bad Gateway")] * 4)
    with pytest.raises(NetworkError):
        _request(_limiter(), callback)
    assert len(calls) == 4  # three retries, then the caller hears of it


def test_a_send_that_may_have_arrived_is_not_repeated_but_an_edit_is():
    for may_have in (TimedOut(), _caused(NetworkError("dropped"), httpx.RemoteProtocolError("x"))):
        assert may_have_arrived(may_have)
        callback, calls = _failing(may_have)
        with pytest.raises(NetworkError):
            _request(_limiter(), callback)
        assert len(calls) == 1  # at most once
        callback, calls = _failing(may_have)
        assert _request(_limiter(), callback, "editMessageText") == {"ok": True}
    never_left = _caused(TimedOut(), httpx.ConnectTimeout("x"))
    assert not may_have_arrived(never_left)
    callback, calls = _failing(never_left)
    assert _request(_limiter(), callback) == {"ok": True} and len(calls) == 2


def test_retry_after_pauses_and_retries():
    callback, calls = _failing(RetryAfter(0))
    assert _request(_limiter(), callback) == {"ok": True} and len(calls) == 2


def _caused(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


def _article(number: int, title: str, url: str | None = None) -> Article:
    moment = datetime(2026, 11, 27, tzinfo=UTC)
    return Article(number, title, "Body.", url, f"h{number}", None, moment, "test")


def test_a_digest_is_split_between_articles_and_escaped():
    items = [
        DigestItem(_article(n, f"Story {n} <&>", "https://x.org/?a=1&b=2"), "Summary " * 80)
        for n in range(1, 11)
    ]
    messages = compose(date(2026, 11, 27), items, limit=1500)
    assert len(messages) > 1
    assert messages[0].text.startswith("📰 <b>Your digest for Friday, 27 November</b> · 10 new")
    assert all(len(m.text) <= 1500 for m in messages)
    assert "Story 1 &lt;&amp;&gt;" in messages[0].text and "a=1&amp;b=2" in messages[0].text
    buttons = [
        b.callback_data for m in messages for row in m.keyboard.inline_keyboard for b in row
    ]
    assert buttons == [encode(Action.OPEN, n) for n in range(1, 11)]
    [empty] = compose(date(2026, 11, 27), [])
    assert "Nothing new today" in empty.text and empty.keyboard is None


def test_the_token_never_reaches_a_log_line(capsys):
    token = "123456:secret-part"
    handler = logging.StreamHandler()
    handler.setFormatter(Redacting(JsonFormatter(), [token]))
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("GET https://api.telegram.org/bot%s/getMe", token.replace(":", "%3A"))
        try:
            raise ValueError(f"The token `{token}` was rejected")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    err = capsys.readouterr().err
    assert "secret-part" not in err and err.count("<token>") == 2


def test_a_failing_log_stream_does_not_print_the_token(capsys):
    token = "123456:secret-part"
    closed = io.StringIO()
    closed.close()
    handler = QuietStreamHandler(closed)
    handler.setFormatter(Redacting(logging.Formatter("%(message)s"), [token]))
    log = logging.getLogger("test.closed-stream")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("GET https://api.telegram.org/bot%s/getMe", token)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    err = capsys.readouterr().err
    assert "secret-part" not in err
    assert "Logging error in test.closed-stream: ValueError" in err
