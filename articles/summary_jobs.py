"""Summary jobs: who is computing which summary, and which ones failed and why.

A job row exists only while a summary is being computed (state running, with its owner) or
after it failed (state failed, with the reason and when to try again). A finished summary
lives in the summary cache and its job row is gone. Claims go through the database, so two
instances never compute the same summary and one killed mid-computation is taken over.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, select, update

from briefbot.articles.database import insert_for
from briefbot.articles.schema import ArticleRow, SummaryJobRow, SummaryRow, utcnow

if TYPE_CHECKING:
    from briefbot.articles.instances import InstanceRegistry
    from briefbot.articles.store import ArticleStore

logger = logging.getLogger(__name__)

QUEUED, RUNNING, FAILED = "queued", "running", "failed"
MAX_ATTEMPTS = 3
# After the n-th failure the summary is tried again this much later (none after the last).
RETRY_AFTER = (timedelta(minutes=5), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class JobKey:
    content_hash: str
    model: str
    length: str


@dataclass(frozen=True, slots=True)
class SummaryFailure:
    reason: str
    attempts: int
    retry_at: datetime | None


class SummaryJobs:
    def __init__(self, store: ArticleStore, instances: InstanceRegistry) -> None:
        self._store = store
        self._instances = instances
        self._insert = insert_for(store.engine)

    def claim(
        self, keys: Sequence[tuple[JobKey, int]], *, retry_failed: bool = False
    ) -> set[JobKey]:
        """Claim the summaries to compute; returns the keys this instance now owns.

        Not returned: summaries another live instance is computing, ones already cached, and
        failed ones (unless `retry_failed`, or their retry time has come).
        """
        now = utcnow()
        me = self._instances.id
        solo = len(keys) == 1
        owned: set[JobKey] = set()
        with self._store.session() as session:
            for key, article_id in keys:
                match = and_(
                    SummaryJobRow.content_hash == key.content_hash,
                    SummaryJobRow.model == key.model,
                    SummaryJobRow.length == key.length,
                )
                if session.get(SummaryRow, (key.content_hash, key.model, key.length)) is not None:
                    session.execute(delete(SummaryJobRow).where(match))  # a stale request
                    continue
                inserted = session.scalar(
                    self._new_job(key, article_id, RUNNING, me, solo=solo).returning(
                        SummaryJobRow.content_hash
                    )
                )
                if inserted is not None:
                    owned.add(key)
                    continue
                # An interruption counts against a summary only when it ran alone: in a
                # batch, any of the others may have been what stopped the process.
                takeover = (
                    (SummaryJobRow.state == RUNNING)
                    & ~(SummaryJobRow.solo & (SummaryJobRow.attempts >= MAX_ATTEMPTS - 1))
                    & self._instances.orphaned(SummaryJobRow.owner)
                ) | (SummaryJobRow.state == QUEUED)
                due = (SummaryJobRow.state == FAILED) & (
                    SummaryJobRow.retry_at.is_not(None) & (SummaryJobRow.retry_at <= now)
                )
                if retry_failed:
                    due = SummaryJobRow.state == FAILED
                taken = session.execute(
                    update(SummaryJobRow)
                    .where(match, takeover | due)
                    .values(
                        state=RUNNING,
                        owner=me,
                        attempts=SummaryJobRow.attempts
                        + case(
                            ((SummaryJobRow.state == RUNNING) & SummaryJobRow.solo, 1), else_=0
                        ),
                        solo=solo,
                        updated_at=now,
                    )
                ).rowcount
                if taken:
                    owned.add(key)
        return owned

    def interrupted(self, model: str, limit: int) -> list[tuple[int, str]]:
        """(article id, length) of summaries whose instance stopped while computing them;
        they are computed one at a time, so an article that kills the process is found."""
        with self._store.session() as session:
            rows = session.execute(
                select(SummaryJobRow.article_id, SummaryJobRow.length)
                .where(
                    SummaryJobRow.model == model,
                    SummaryJobRow.state == RUNNING,
                    SummaryJobRow.article_id.is_not(None),
                    self._instances.orphaned(SummaryJobRow.owner),
                )
                .limit(limit)
            )
            return [(int(article_id), length) for article_id, length in rows]

    def to_summarize(self, model: str, length: str, limit: int) -> list[int]:
        """Newest articles with no cached summary for (model, length) that nobody is
        computing and that did not fail recently."""
        now = utcnow()
        cached = select(SummaryRow.content_hash).where(
            SummaryRow.model == model,
            SummaryRow.length == length,
            SummaryRow.content_hash == ArticleRow.content_hash,
        )
        blocked = select(SummaryJobRow.content_hash).where(
            SummaryJobRow.model == model,
            SummaryJobRow.length == length,
            SummaryJobRow.content_hash == ArticleRow.content_hash,
            (
                (SummaryJobRow.state == FAILED)
                & (SummaryJobRow.retry_at.is_(None) | (SummaryJobRow.retry_at > now))
            )
            | ((SummaryJobRow.state == RUNNING) & ~self._instances.orphaned(SummaryJobRow.owner)),
        )
        with self._store.session() as session:
            return list(
                session.scalars(
                    select(ArticleRow.id)
                    .where(~cached.exists(), ~blocked.exists())
                    .order_by(ArticleRow.id.desc())
                    .limit(limit)
                )
            )

    def request(self, key: JobKey, article_id: int) -> None:
        """Ask whichever instance runs the model (a worker) to compute this summary soon."""
        with self._store.session() as session:
            session.execute(self._new_job(key, article_id, QUEUED, None))

    def forget_requests(self, keys: Sequence[JobKey]) -> None:
        """Drop requests whose summaries exist already."""
        with self._store.session() as session:
            for key in keys:
                session.execute(
                    delete(SummaryJobRow).where(*self._match(key), SummaryJobRow.state == QUEUED)
                )

    def queued(self, model: str, limit: int) -> list[tuple[int, str]]:
        """(article id, length) of summaries readers asked for, oldest request first."""
        with self._store.session() as session:
            rows = session.execute(
                select(SummaryJobRow.article_id, SummaryJobRow.length)
                .where(
                    SummaryJobRow.model == model,
                    SummaryJobRow.state == QUEUED,
                    SummaryJobRow.article_id.is_not(None),
                )
                .order_by(SummaryJobRow.updated_at)
                .limit(limit)
            )
            return [(int(article_id), length) for article_id, length in rows]

    def succeeded(self, key: JobKey, text: str) -> None:
        """Cache the summary and drop the job, in one transaction."""
        with self._store.session() as session:
            row = session.get(SummaryRow, (key.content_hash, key.model, key.length))
            if row is None:
                session.add(
                    SummaryRow(
                        content_hash=key.content_hash,
                        model=key.model,
                        length=key.length,
                        text=text,
                    )
                )
            else:
                row.text = text
            session.execute(delete(SummaryJobRow).where(*self._match(key)))

    def failed(self, key: JobKey, reason: str) -> SummaryFailure:
        with self._store.session() as session:
            row = session.get(SummaryJobRow, (key.content_hash, key.model, key.length))
            if row is None:
                row = SummaryJobRow(
                    content_hash=key.content_hash,
                    model=key.model,
                    length=key.length,
                    attempts=0,
                )
                session.add(row)
            attempts = (row.attempts or 0) + 1
            row.attempts = attempts
            row.state = FAILED
            row.owner = None
            row.reason = reason[:500]
            row.retry_at = (
                utcnow() + RETRY_AFTER[attempts - 1] if attempts <= len(RETRY_AFTER) else None
            )
            row.updated_at = utcnow()
            return SummaryFailure(row.reason, attempts, row.retry_at)

    def crashed_too_often(self) -> int:
        """A summary whose computation was interrupted MAX_ATTEMPTS times (say, the process was
        killed for memory each time) is marked failed instead of being tried forever."""
        with self._store.session() as session:
            return session.execute(
                update(SummaryJobRow)
                .where(
                    SummaryJobRow.state == RUNNING,
                    SummaryJobRow.solo,
                    SummaryJobRow.attempts >= MAX_ATTEMPTS - 1,
                    self._instances.orphaned(SummaryJobRow.owner),
                )
                .values(
                    state=FAILED,
                    owner=None,
                    attempts=SummaryJobRow.attempts + 1,
                    retry_at=None,
                    reason="the summarizer stopped (crashed or was killed) on this article "
                    f"{MAX_ATTEMPTS} times",
                    updated_at=utcnow(),
                )
            ).rowcount

    def failure(self, key: JobKey) -> SummaryFailure | None:
        with self._store.session() as session:
            row = session.get(SummaryJobRow, (key.content_hash, key.model, key.length))
            if row is None or row.state != FAILED:
                return None
            return SummaryFailure(row.reason or "unknown", row.attempts, row.retry_at)

    def failures(
        self, model: str, limit: int = 20
    ) -> list[tuple[int | None, str, SummaryFailure]]:
        with self._store.session() as session:
            rows = session.scalars(
                select(SummaryJobRow)
                .where(SummaryJobRow.model == model, SummaryJobRow.state == FAILED)
                .order_by(SummaryJobRow.updated_at.desc())
                .limit(limit)
            )
            return [
                (r.article_id, r.length, SummaryFailure(r.reason or "", r.attempts, r.retry_at))
                for r in rows
            ]

    def _new_job(
        self, key: JobKey, article_id: int, state: str, owner: str | None, *, solo: bool = False
    ) -> Any:
        """INSERT of a job row that does nothing when the summary has one already."""
        return (
            self._insert(SummaryJobRow)
            .values(
                content_hash=key.content_hash,
                model=key.model,
                length=key.length,
                article_id=article_id,
                state=state,
                owner=owner,
                attempts=0,
                solo=solo,
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )

    @staticmethod
    def _match(key: JobKey) -> tuple[object, ...]:
        return (
            SummaryJobRow.content_hash == key.content_hash,
            SummaryJobRow.model == key.model,
            SummaryJobRow.length == key.length,
        )
