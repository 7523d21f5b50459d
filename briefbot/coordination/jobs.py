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
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, select, update
from sqlalchemy.orm import Session

from briefbot.coordination.instances import Instances
from briefbot.coordination.schema import SummaryJobRow
from briefbot.database import Database, utcnow

logger = logging.getLogger(__name__)


class JobState(StrEnum):
    QUEUED = "queued"  # asked for by an instance that runs no model
    RUNNING = "running"
    FAILED = "failed"


# A summary whose computation stops the process this many times (run alone) is given up.
MAX_SUMMARY_ATTEMPTS = 3
# After the n-th failure the summary is tried again this much later (none after the last).
RETRY_AFTER = (timedelta(minutes=5), timedelta(hours=1))


@dataclass(frozen=True, slots=True)
class JobKey:
    """A summary: of which content, by which model, in which form (its length, and the
    language when it is not the article's: 'standard:ru'; the `length` column holds it)."""

    content_hash: str
    model: str
    form: str


@dataclass(frozen=True, slots=True)
class SummaryFailure:
    reason: str
    attempts: int
    retry_at: datetime | None


class SummaryJobs:
    def __init__(self, db: Database, instances: Instances) -> None:
        self.db = db
        self.instances = instances

    def claim(
        self,
        keys: Sequence[tuple[JobKey, int]],
        *,
        retry_failed: bool = False,
        session: Session | None = None,
    ) -> set[JobKey]:
        """Claim the summaries to compute; returns the keys this instance now owns.

        Not returned: summaries another live instance is computing, and failed ones (unless
        `retry_failed`, or their retry time has come).
        """
        now = utcnow()
        me = self.instances.id
        solo = len(keys) == 1
        owned: set[JobKey] = set()
        with self.db.transaction(session) as s:
            for key, article_id in keys:
                new = self._new_job(key, article_id, JobState.RUNNING, me, solo=solo)
                if s.scalar(new.returning(SummaryJobRow.content_hash)) is not None:
                    owned.add(key)
                    continue
                # An interruption counts against a summary only when it ran alone: in a
                # batch, any of the others may have been what stopped the process.
                takeover = (
                    (SummaryJobRow.state == JobState.RUNNING)
                    & ~(SummaryJobRow.solo & (SummaryJobRow.attempts >= MAX_SUMMARY_ATTEMPTS - 1))
                    & self.instances.orphaned(SummaryJobRow.owner)
                ) | (SummaryJobRow.state == JobState.QUEUED)
                due: ColumnElement[bool] = (SummaryJobRow.state == JobState.FAILED) & (
                    SummaryJobRow.retry_at.is_not(None) & (SummaryJobRow.retry_at <= now)
                )
                if retry_failed:
                    due = SummaryJobRow.state == JobState.FAILED
                taken = self.db.changed(
                    s,
                    update(SummaryJobRow)
                    .where(*self._match(key), takeover | due)
                    .values(
                        state=JobState.RUNNING,
                        owner=me,
                        attempts=SummaryJobRow.attempts
                        + case(
                            ((SummaryJobRow.state == JobState.RUNNING) & SummaryJobRow.solo, 1),
                            else_=0,
                        ),
                        solo=solo,
                        updated_at=now,
                    ),
                )
                if taken:
                    owned.add(key)
        return owned

    def waiting(self, model: str, limit: int) -> list[tuple[int, str, bool]]:
        """(article id, form, interrupted) of summaries to make now: those whose instance
        stopped while making them (to be made one at a time, so an article that kills the
        process is found), then those readers asked for, oldest first."""
        interrupted = (SummaryJobRow.state == JobState.RUNNING) & self.instances.orphaned(
            SummaryJobRow.owner
        )
        with self.db.transaction() as session:
            rows = session.execute(
                select(SummaryJobRow.article_id, SummaryJobRow.length, interrupted)
                .where(
                    SummaryJobRow.model == model,
                    SummaryJobRow.article_id.is_not(None),
                    interrupted | (SummaryJobRow.state == JobState.QUEUED),
                )
                .order_by(interrupted.desc(), SummaryJobRow.updated_at)
                .limit(limit)
            )
            return [(a, length, bool(i)) for a, length, i in rows if a is not None]

    def busy(self, model: str, length: str) -> Any:
        """A condition builder for the library: a content hash whose summary someone live is
        computing, or that failed and is not due for another try."""
        now = utcnow()

        def condition(content_hash: ColumnElement[str]) -> ColumnElement[bool]:
            return (
                select(SummaryJobRow.content_hash)
                .where(
                    SummaryJobRow.model == model,
                    SummaryJobRow.length == length,
                    SummaryJobRow.content_hash == content_hash,
                    (
                        (SummaryJobRow.state == JobState.FAILED)
                        & (SummaryJobRow.retry_at.is_(None) | (SummaryJobRow.retry_at > now))
                    )
                    | (
                        (SummaryJobRow.state == JobState.RUNNING)
                        & ~self.instances.orphaned(SummaryJobRow.owner)
                    ),
                )
                .exists()
            )

        return condition

    def request(self, key: JobKey, article_id: int) -> None:
        """Ask whichever instance runs the model (a worker) to compute this summary soon."""
        with self.db.transaction() as session:
            session.execute(self._new_job(key, article_id, JobState.QUEUED, None))

    def forget(self, keys: Sequence[JobKey], session: Session | None = None) -> None:
        """Drop the jobs of summaries that exist already (requests, interrupted runs), but
        not one a live instance is running right now."""
        running_elsewhere = (SummaryJobRow.state == JobState.RUNNING) & ~self.instances.orphaned(
            SummaryJobRow.owner
        )
        with self.db.transaction(session) as s:
            for key in keys:
                s.execute(delete(SummaryJobRow).where(*self._match(key), ~running_elsewhere))

    def succeeded(self, key: JobKey, session: Session | None = None) -> None:
        """The summary is cached (in the same transaction, by the caller): drop the job."""
        with self.db.transaction(session) as s:
            s.execute(delete(SummaryJobRow).where(*self._match(key)))

    def failed(self, key: JobKey, reason: str) -> SummaryFailure:
        with self.db.transaction() as session:
            row = session.get(SummaryJobRow, (key.content_hash, key.model, key.form))
            if row is None:
                row = SummaryJobRow(
                    content_hash=key.content_hash,
                    model=key.model,
                    length=key.form,
                    attempts=0,
                )
                session.add(row)
            attempts = (row.attempts or 0) + 1
            row.attempts = attempts
            row.state = JobState.FAILED
            row.owner = None
            row.reason = reason[:500]
            row.retry_at = (
                utcnow() + RETRY_AFTER[attempts - 1] if attempts <= len(RETRY_AFTER) else None
            )
            row.updated_at = utcnow()
            return SummaryFailure(row.reason, attempts, row.retry_at)

    def crashed_too_often(self) -> int:
        """A summary whose computation was interrupted MAX_SUMMARY_ATTEMPTS times (say, the
        process was killed for memory each time) is marked failed, not tried forever."""
        with self.db.transaction() as session:
            return self.db.changed(
                session,
                update(SummaryJobRow)
                .where(
                    SummaryJobRow.state == JobState.RUNNING,
                    SummaryJobRow.solo,
                    SummaryJobRow.attempts >= MAX_SUMMARY_ATTEMPTS - 1,
                    self.instances.orphaned(SummaryJobRow.owner),
                )
                .values(
                    state=JobState.FAILED,
                    owner=None,
                    attempts=SummaryJobRow.attempts + 1,
                    retry_at=None,
                    reason="the summarizer stopped (crashed or was killed) on this article "
                    f"{MAX_SUMMARY_ATTEMPTS} times",
                    updated_at=utcnow(),
                ),
            )

    def failure(self, key: JobKey, session: Session | None = None) -> SummaryFailure | None:
        with self.db.transaction(session) as s:
            row = s.get(SummaryJobRow, (key.content_hash, key.model, key.form))
            if row is None or row.state != JobState.FAILED:
                return None
            return SummaryFailure(row.reason or "unknown", row.attempts, row.retry_at)

    def failed_count(self) -> int:
        with self.db.transaction() as session:
            count = session.scalar(
                select(func.count()).where(SummaryJobRow.state == JobState.FAILED)
            )
            return count or 0

    def _new_job(
        self, key: JobKey, article_id: int, state: str, owner: str | None, *, solo: bool = False
    ) -> Any:
        """INSERT of a job row that does nothing when the summary has one already."""
        return (
            self.db.insert(SummaryJobRow)
            .values(
                content_hash=key.content_hash,
                model=key.model,
                length=key.form,
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
    def _match(key: JobKey) -> tuple[ColumnElement[bool], ...]:
        return (
            SummaryJobRow.content_hash == key.content_hash,
            SummaryJobRow.model == key.model,
            SummaryJobRow.length == key.form,
        )
