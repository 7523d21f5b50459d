"""DigestScheduler: finds the digests that are due, claims them, and fans them out.

The schedules live in the chats table. A JobQueue job calls `run_due` on every minute and once
at start-up; `run_due` takes the time as an argument, so tests drive it with any clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from telegram import Bot
from telegram.ext import ExtBot

from briefbot.articles import Article, ChatState
from briefbot.articles.deliveries import SKIPPED, ClaimEntry
from briefbot.articles.records import Delivery, DigestRun
from briefbot.articles.schema import utcnow
from briefbot.articles.wire import WireJournals, journal_folder
from briefbot.bot.digest.compose import DigestItem, DigestMessage, compose
from briefbot.bot.digest.delivery import DigestSender, Outcome
from briefbot.bot.digest.schedule import DigestSchedule, schedule_for
from briefbot.bot.ratelimit import TelegramRateLimiter
from briefbot.bot.services import BotServices
from briefbot.models import SummaryLength

logger = logging.getLogger(__name__)

DIGEST_LENGTH = SummaryLength.SHORT
CLAIM_CHUNK = 50


def _text(outcome: object) -> str | None:
    # A failed or not-yet-ready summary leaves the digest item with its title and link only.
    return outcome if isinstance(outcome, str) else None


@dataclass(slots=True)
class RunCounts:
    sent: int = 0
    skipped: int = 0
    failed: int = 0


class DigestScheduler:
    def __init__(
        self,
        services: BotServices,
        bot: Bot,
        *,
        clock: Callable[[], datetime] = utcnow,
        workers: int | None = None,
    ) -> None:
        self.services = services
        self.bot = bot
        self.clock = clock
        limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
        self.journals = WireJournals(journal_folder(services.settings.database_url))
        self.sender = DigestSender(
            bot,
            services.store,
            limiter if isinstance(limiter, TelegramRateLimiter) else None,
            journal=self.journals.open(services.store.instances.id),
        )
        rate = services.settings.send_rate
        self.workers = workers or max(16, min(2_000, int(rate * 2)))
        self._running = 0
        self._stopping = False
        self._random = random.Random()

    @property
    def busy(self) -> bool:
        return self._running > 0

    def close(self) -> None:
        if self.sender.journal is not None:
            self.sender.journal.close()
            self.sender.journal = None

    def stop(self) -> None:
        """Start no more chats; unsent digests stay claimed and are resumed at start-up."""
        self._stopping = True

    def schedule(self, chat: ChatState) -> DigestSchedule:
        settings = self.services.settings
        return schedule_for(chat, settings.digest_time, settings.timezone)

    # -- deciding -------------------------------------------------------------------------

    def _due(
        self, now: datetime
    ) -> tuple[list[tuple[ChatState, date]], list[tuple[int, date, str]]]:
        """Chats whose digest is due now, and (chat, date, reason) for ones missed for good."""
        grace = timedelta(minutes=self.services.settings.digest_grace_minutes)
        candidates: list[tuple[ChatState, date, datetime]] = []
        for chat in self.services.store.subscribed_chats():
            last = self.schedule(chat).last_due(now)
            if last is None:
                continue
            day, instant = last
            if chat.schedule_changed_at is not None and instant < chat.schedule_changed_at:
                continue  # that time passed before the chat subscribed or changed its time
            candidates.append((chat, day, instant))
        existing = self.services.store.deliveries.existing(
            (chat.chat_id, day.isoformat()) for chat, day, _ in candidates
        )
        due: list[tuple[ChatState, date]] = []
        missed: list[tuple[int, date, str]] = []
        for chat, day, instant in candidates:
            if (chat.chat_id, day.isoformat()) in existing:
                continue
            late = now - instant
            if late > grace:
                minutes = int(late.total_seconds() // 60)
                missed.append((chat.chat_id, day, f"missed: {minutes} min late, past the grace"))
            else:
                due.append((chat, day))
        return due, missed

    def _content(self, chat: ChatState) -> list[Article]:
        limit = self.services.settings.digest_max_articles
        return self.services.store.articles_after(chat.digest_watermark, limit)

    # -- running --------------------------------------------------------------------------

    async def run_due(self, now: datetime | None = None, *, resume: bool = False) -> RunCounts:
        """Send every digest that is due at `now`; `resume` also finishes interrupted ones."""
        now = now or self.clock()
        started = utcnow()
        if self._stopping:
            return RunCounts()
        self._running += 1
        counts = RunCounts()
        worked = False
        try:
            # Interrupted deliveries first: the claims made below are unfinished too.
            if resume:
                interrupted = self._interrupted()
                if interrupted:
                    worked = True
                    await self._fan_out(interrupted, counts)
            entries = self._entries(now)
            # Claimed a chunk at a time, in an order of its own: several instances running
            # this at once take different chunks and share the fan-out.
            self._random.shuffle(entries)
            chunk = max(CLAIM_CHUNK, self.workers)
            for start in range(0, len(entries), chunk):
                if self._stopping:
                    break
                work = self._claim(entries[start : start + chunk], counts)
                if work:
                    worked = True
                    await self._fan_out(work, counts)
        finally:
            self._running -= 1
        if worked or counts.skipped:
            run = DigestRun(started, utcnow(), counts.sent, counts.skipped, counts.failed)
            self.services.store.deliveries.record_run(run)
            logger.info(
                "Digest run: %d sent, %d skipped, %d failed in %.1f s",
                run.sent,
                run.skipped,
                run.failed,
                run.seconds,
            )
        return counts

    def _entries(self, now: datetime) -> list[ClaimEntry]:
        due, missed = self._due(now)
        entries = [
            ClaimEntry(chat_id, day.isoformat(), state=SKIPPED, reason=reason)
            for chat_id, day, reason in missed
        ]
        send_empty = self.services.settings.digest_empty_message
        for chat, day in due:
            articles = self._content(chat)
            if articles or send_empty:
                ids = tuple(a.id for a in articles)
                entries.append(ClaimEntry(chat.chat_id, day.isoformat(), article_ids=ids))
            else:
                entries.append(
                    ClaimEntry(chat.chat_id, day.isoformat(), state=SKIPPED, reason="nothing new")
                )
        return entries

    def _claim(self, entries: list[ClaimEntry], counts: RunCounts) -> list[tuple[Delivery, date]]:
        # Records another run created first are not returned: that run sends those.
        claimed = self.services.store.deliveries.claim_many(entries)
        counts.skipped += sum(1 for d in claimed if d.state == SKIPPED)
        return [(d, date.fromisoformat(d.digest_date)) for d in claimed if d.state != SKIPPED]

    def _interrupted(self) -> list[tuple[Delivery, date]]:
        deliveries = self.services.store.deliveries
        resumed = []
        for delivery in deliveries.take_over_unfinished(self.journals.written):
            logger.info(
                "Resuming the digest for chat %s (%s)", delivery.chat_id, delivery.digest_date
            )
            resumed.append((delivery, date.fromisoformat(delivery.digest_date)))
        return resumed

    async def _fan_out(self, work: list[tuple[Delivery, date]], counts: RunCounts) -> None:
        store = self.services.store
        ids = sorted({i for delivery, _ in work for i in delivery.article_ids})
        articles = {a.id: a for a in store.get_many(ids)}
        # Every summary the digests need, in one batched model call before sending starts.
        summaries = await self.services.summaries.summaries_for(
            list(articles.values()), DIGEST_LENGTH
        )

        queue: asyncio.Queue[tuple[Delivery, date]] = asyncio.Queue()
        for item in work:
            queue.put_nowait(item)

        async def worker() -> None:
            while not self._stopping:
                try:
                    delivery, day = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                items = [
                    DigestItem(articles[i], _text(summaries.get(i)))
                    for i in delivery.article_ids
                    if i in articles
                ]
                await self._deliver(delivery, compose(day, items), counts)

        await asyncio.gather(*(worker() for _ in range(min(self.workers, len(work)))))

    async def _deliver(
        self, delivery: Delivery, messages: list[DigestMessage], counts: RunCounts
    ) -> None:
        try:
            outcome = await self.sender.deliver(delivery, messages)
        except Exception:
            logger.exception("Digest for chat %s failed", delivery.chat_id)
            self.services.store.deliveries.finish(delivery.id, "failed", "internal error")
            counts.failed += 1
            return
        if outcome is Outcome.SENT:
            counts.sent += 1
        else:
            counts.failed += 1

    async def preview(self, chat: ChatState) -> list[DigestMessage]:
        """This chat's digest as it would be sent now (the newest articles if none are new)."""
        articles = self._content(chat) or self.services.store.latest(
            self.services.settings.digest_max_articles
        )
        summaries = await self.services.summaries.summaries_for(articles, DIGEST_LENGTH)
        today = self.clock().astimezone(self.schedule(chat).zone).date()
        return compose(today, [DigestItem(a, _text(summaries.get(a.id))) for a in articles])
