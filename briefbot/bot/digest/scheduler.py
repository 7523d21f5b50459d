"""DigestScheduler: finds the digests that are due, claims them, and fans them out.

The schedules live in the chats table. A JobQueue job calls `run_due` every minute and once
at start-up; `run_due` takes the time as an argument, so tests drive it with any clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from telegram.ext import ExtBot

from briefbot.articles import Article
from briefbot.bot import i18n
from briefbot.bot.digest.compose import DigestItem, DigestMessage, compose
from briefbot.bot.digest.sender import DeliveryOutcome, DigestSender
from briefbot.bot.ratelimit import TelegramRateLimiter
from briefbot.chats import (
    ChatState,
    ChatTopic,
    ClaimEntry,
    Delivery,
    DeliveryState,
    DigestRun,
    DigestSchedule,
    followed_and_muted,
    schedule_for,
)
from briefbot.database import utcnow
from briefbot.models import SummaryLength
from briefbot.services import Services
from briefbot.summaries import SummaryOutcome

logger = logging.getLogger(__name__)

DIGEST_LENGTH = SummaryLength.SHORT
CLAIM_CHUNK = 50
# A chat with topics gets those of the newest this many new articles that its topics match.
TOPIC_POOL = 500


def _text(outcome: SummaryOutcome) -> str | None:
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
        services: Services,
        bot: ExtBot[Any],
        *,
        clock: Callable[[], datetime] = utcnow,
        workers: int | None = None,
    ) -> None:
        self.services = services
        self.bot = bot
        self.clock = clock
        limiter = bot.rate_limiter
        self.sender = DigestSender(
            bot, services, limiter if isinstance(limiter, TelegramRateLimiter) else None
        )
        rate = services.settings.send_rate
        self.workers = workers or max(16, min(2_000, int(rate * 2)))
        self._running = 0
        self._stopping = False
        self._random = random.Random()

    @property
    def busy(self) -> bool:
        return self._running > 0

    def stop(self) -> None:
        """Start no more chats; unsent digests stay claimed and are resumed at start-up."""
        self._stopping = True

    def schedule(self, chat: ChatState) -> DigestSchedule:
        settings = self.services.settings
        return schedule_for(chat, settings.digest_time, settings.timezone)

    # -- deciding (on the database's threads) ----------------------------------------------

    def _entries(self, now: datetime) -> list[ClaimEntry]:
        """Claims for the chats whose digest is due now (with their articles), and skips for
        those missed for good."""
        services = self.services
        settings = services.settings
        grace = timedelta(minutes=settings.digest_grace_minutes)
        candidates: list[tuple[ChatState, date, datetime]] = []
        for chat in services.chats.subscribed():
            last = self.schedule(chat).last_due(now)
            if last is None:
                continue
            day, instant = last
            if chat.schedule_changed_at is not None and instant < chat.schedule_changed_at:
                continue  # that time passed before the chat subscribed or changed its time
            candidates.append((chat, day, instant))
        existing = services.deliveries.existing(
            (chat.chat_id, day.isoformat()) for chat, day, _ in candidates
        )
        entries: list[ClaimEntry] = []
        skip = DeliveryState.SKIPPED
        topics = services.chats.topics_of(chat.chat_id for chat, _, _ in candidates)
        for chat, day, instant in candidates:
            key = (chat.chat_id, day.isoformat())
            if key in existing:
                continue
            if now - instant > grace:
                minutes = int((now - instant).total_seconds() // 60)
                reason = f"missed: {minutes} min late, past the grace"
                entries.append(ClaimEntry(*key, state=skip, reason=reason))
                continue
            ids = self._article_ids(chat, topics.get(chat.chat_id, []))
            if ids or settings.digest_empty_message:
                entries.append(ClaimEntry(*key, article_ids=tuple(ids)))
            else:
                entries.append(ClaimEntry(*key, state=skip, reason="nothing new"))
        return entries

    def _article_ids(self, chat: ChatState, topics: list[ChatTopic]) -> list[int]:
        """The chat's next digest: the newest articles since its last, those its topics let
        through (among the newest TOPIC_POOL) where it has topics."""
        library, meanings = self.services.library, self.services.meanings
        limit = self.services.settings.digest_max_articles
        if not topics:
            return library.newest_ids_after(chat.digest_watermark, limit)
        pool = library.newest_ids_after(chat.digest_watermark, TOPIC_POOL)
        follow, mute = followed_and_muted(topics)
        return meanings.keep(follow, mute, pool)[:limit]

    # -- running ----------------------------------------------------------------------------

    async def run_due(self, now: datetime | None = None, *, resume: bool = False) -> RunCounts:
        """Send every digest that is due at `now`; `resume` also finishes interrupted ones."""
        now = now or self.clock()
        started = utcnow()
        if self._stopping:
            return RunCounts()
        db = self.services.db
        self._running += 1
        counts = RunCounts()
        worked = False
        try:
            # Interrupted deliveries first: the claims made below are unfinished too.
            if resume:
                interrupted = await self._interrupted()
                if interrupted:
                    worked = True
                    await self._fan_out(interrupted, counts)
            entries = await db.run(self._entries, now)
            # Claimed a chunk at a time, in an order of its own: several instances running
            # this at once take different chunks and share the fan-out.
            self._random.shuffle(entries)
            chunk = max(CLAIM_CHUNK, self.workers)
            for start in range(0, len(entries), chunk):
                if self._stopping:
                    break
                claimed = await db.run(
                    self.services.deliveries.claim_many, entries[start : start + chunk]
                )
                work = [d for d in claimed if d.state != DeliveryState.SKIPPED]
                counts.skipped += len(claimed) - len(work)
                if work:
                    worked = True
                    await self._fan_out(work, counts)
        finally:
            self._running -= 1
        if worked or counts.skipped:
            run = DigestRun(started, utcnow(), counts.sent, counts.skipped, counts.failed)
            await db.run(self.services.deliveries.record_run, run)
            logger.info(
                "Digest run: %d sent, %d skipped, %d failed in %.1f s",
                run.sent,
                run.skipped,
                run.failed,
                run.seconds,
            )
        return counts

    async def _interrupted(self) -> list[Delivery]:
        taken = await self.services.db.run(self.services.deliveries.take_over_unfinished)
        for delivery in taken:
            logger.info(
                "Resuming the digest for chat %s (%s)", delivery.chat_id, delivery.digest_date
            )
        return taken

    async def _fan_out(self, work: list[Delivery], counts: RunCounts) -> None:
        services, db = self.services, self.services.db
        ids = sorted({i for delivery in work for i in delivery.article_ids})
        articles = {a.id: a for a in await db.run(services.library.get_many, ids)}
        targets = await db.run(services.chats.digest_targets, [d.chat_id for d in work])
        locales = {
            d.chat_id: i18n.locale_for(targets.get(d.chat_id, (None, None))[1]) for d in work
        }
        # Every summary the digests need, one batched model call per readers' language, before
        # sending starts (one call in all where the model writes the articles' languages only).
        summaries: dict[str, dict[int, SummaryOutcome]] = {}
        for language in sorted({i18n.reader_language(locale) for locale in locales.values()}):
            wanted = {
                i
                for d in work
                if i18n.reader_language(locales[d.chat_id]) == language
                for i in d.article_ids
            }
            summaries[language] = await services.summaries.summaries_for(
                [a for i, a in articles.items() if i in wanted], DIGEST_LENGTH, language=language
            )

        queue: asyncio.Queue[Delivery] = asyncio.Queue()
        for delivery in work:
            queue.put_nowait(delivery)

        async def worker() -> None:
            while not self._stopping:
                try:
                    delivery = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                locale = locales[delivery.chat_id]
                items = self._items(
                    [articles[i] for i in delivery.article_ids if i in articles],
                    summaries[i18n.reader_language(locale)],
                    i18n.reader_language(locale),
                )
                day = date.fromisoformat(delivery.digest_date)
                topic = targets.get(delivery.chat_id, (None, None))[0]
                with i18n.speaking(locale):
                    messages = compose(day, items)
                await self._deliver(delivery, messages, topic, counts)

        await asyncio.gather(*(worker() for _ in range(min(self.workers, len(work)))))

    async def _deliver(
        self,
        delivery: Delivery,
        messages: list[DigestMessage],
        topic: int | None,
        counts: RunCounts,
    ) -> None:
        try:
            outcome = await self.sender.deliver(delivery, messages, topic)
        except Exception:
            logger.exception("Digest for chat %s failed", delivery.chat_id)
            deliveries = self.services.deliveries
            failed = DeliveryState.FAILED
            await self.services.db.run(deliveries.finish, delivery.id, failed, "internal error")
            counts.failed += 1
            return
        if outcome is DeliveryOutcome.SENT:
            counts.sent += 1
        else:
            counts.failed += 1

    async def preview(self, chat: ChatState) -> list[DigestMessage]:
        """This chat's digest as it would be sent now (the newest articles if none are new)."""
        services = self.services
        limit = services.settings.digest_max_articles
        db = services.db
        topics = await db.run(services.chats.topics, chat.chat_id)
        ids = await db.run(self._article_ids, chat, topics)
        articles: list[Article] = await db.run(services.library.get_many, ids) or await db.run(
            services.library.latest, limit
        )
        locale = i18n.locale_for(chat.locale)
        language = i18n.reader_language(locale)
        summaries = await services.summaries.summaries_for(
            articles, DIGEST_LENGTH, language=language
        )
        today = self.clock().astimezone(self.schedule(chat).zone).date()
        with i18n.speaking(locale):
            return compose(today, self._items(articles, summaries, language))

    def _items(
        self, articles: list[Article], summaries: dict[int, SummaryOutcome], language: str
    ) -> list[DigestItem]:
        """The digest's items for readers of `language`, each summary with its language."""
        written_in = self.services.summaries.summary_language
        return [
            DigestItem(a, _text(summaries.get(a.id)), written_in(a, language)) for a in articles
        ]
