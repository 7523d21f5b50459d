"""Digest fan-out throughput against the Bot API stand-in, compared with a naive fan-out.

    python bench/fanout.py [--chats 10000] [--rate 100] [--baseline-chats 2000]

Briefbot: the real Application and DigestScheduler send one digest to each of N subscribed
chats, paced at --rate messages/s, while the stand-in answers 429 to anything above
--headroom x --rate messages in any one-second window, so every burst shows.
Baseline: what comparable bots do, asyncio.gather(send_message...) through python-telegram-bot's
AIORateLimiter at the same overall rate, against the same stand-in; once with its default
max_retries=0 (a 429 loses the message) and once with max_retries=3.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ExtBot

from briefbot.chats import ChatRef
from briefbot.config import Settings
from briefbot.models import Summarizer, load_summarizer
from briefbot.services import Services
from tests.botapi import FakeBotApi
from tests.harness import RunningBot

DUE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ARTICLE = (
    "The harbour authority opened a new ferry line on Monday. The boats run every twenty "
    "minutes between the old town and the island. Officials expect two thousand passengers a "
    "day in summer. The line replaces a bus route that often stood in traffic."
)


def start_digest_bot(
    api: FakeBotApi, folder: str, chats: int, rate: float, summarizer: Summarizer, **settings: Any
) -> RunningBot:
    """The real bot on a SQLite file in `folder`, with `chats` private chats due at 08:00 UTC
    and one new article, running and ready for `run_due`."""
    settings = Settings(
        token=api.token,
        api_url=api.url,
        database_url=f"sqlite:///{folder}/bench.db",
        load_samples=False,
        send_rate=rate,
        **settings,
    )
    services = Services.open(settings, role="polling", summarizer=summarizer)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    for chat_id in range(1, chats + 1):
        api.private_chat(chat_id)
        services.chats.touch(ChatRef(chat_id, "private"))
        services.chats.set_schedule(chat_id, digest_time="08:00", timezone="UTC", now=since)
    services.library.add("Ferry line opens", ARTICLE)
    bot = RunningBot(services, schedule_digests=False).start()
    while not bot.application.running:
        time.sleep(0.05)
    return bot


def briefbot_fanout(chats: int, rate: float, limit: float) -> tuple[float, int, int]:
    api = FakeBotApi().start()
    api.rate_limit = limit
    with tempfile.TemporaryDirectory() as folder:
        bot = start_digest_bot(api, folder, chats, rate, load_summarizer("embedded"))
        scheduler = bot.application.bot_data.scheduler
        started = time.perf_counter()
        counts = bot.call(scheduler.run_due(DUE), 3600)
        elapsed = time.perf_counter() - started
        bot.stop()
    api.stop()
    return elapsed, counts.sent, api.rejected_for_rate


async def _naive(api: FakeBotApi, chats: int, rate: float, retries: int) -> tuple[int, int]:
    limiter = AIORateLimiter(overall_max_rate=rate, max_retries=retries)
    bot = ExtBot(api.token, base_url=api.url, rate_limiter=limiter)
    failed = 0
    async with bot:

        async def send(chat_id: int) -> None:
            nonlocal failed
            try:
                await bot.send_message(chat_id, "Your digest")
            except RetryAfter:
                failed += 1

        await asyncio.gather(*(send(chat_id) for chat_id in range(1, chats + 1)))
    return chats - failed, failed


def naive_fanout(
    chats: int, rate: float, limit: float, retries: int
) -> tuple[float, int, int, int]:
    api = FakeBotApi().start()
    api.rate_limit = limit
    for chat_id in range(1, chats + 1):
        api.private_chat(chat_id)
    started = time.perf_counter()
    delivered, lost = asyncio.run(_naive(api, chats, rate, retries))
    elapsed = time.perf_counter() - started
    api.stop()
    return elapsed, delivered, lost, api.rejected_for_rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--baseline-chats", type=int, default=2_000)
    parser.add_argument(
        "--headroom", type=float, default=1.1, help="stand-in limit / configured rate"
    )
    args = parser.parse_args()
    limit = args.rate * args.headroom
    print(f"stand-in limit: {limit:g} messages in any one-second window")

    elapsed, sent, rejected = briefbot_fanout(args.chats, args.rate, limit)
    achieved = sent / elapsed
    print(
        f"briefbot: {sent}/{args.chats} digests in {elapsed:.1f} s = {achieved:.1f} msg/s "
        f"({achieved / args.rate:.0%} of the configured {args.rate:g}/s), "
        f"{rejected} answered 429 by the stand-in"
    )
    for retries in (0, 3):
        elapsed, delivered, lost, rejected = naive_fanout(
            args.baseline_chats, args.rate, limit, retries
        )
        print(
            f"naive gather + AIORateLimiter(max_retries={retries}): {delivered}/"
            f"{args.baseline_chats} delivered in {elapsed:.1f} s = {delivered / elapsed:.1f} "
            f"msg/s, {rejected} answered 429, {lost} lost"
        )


if __name__ == "__main__":
    main()
