"""Digest delivery records: one per (chat, local date), so no digest is ever sent twice."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from briefbot.articles.database import insert_for
from briefbot.articles.errors import store_error
from briefbot.articles.records import Delivery, DigestRun
from briefbot.articles.schema import ChatRow, DigestDeliveryRow, DigestRunRow, utcnow

if TYPE_CHECKING:
    from briefbot.articles.store import ArticleStore

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
NOT_SENT_AGAIN = "a part was in flight during a restart and was not sent again"
NEVER_LEFT = "a part was marked in flight but never left before a restart; sent now"
UNFINISHED = (PENDING, SENDING)


@dataclass(frozen=True, slots=True)
class ClaimEntry:
    chat_id: int
    digest_date: str
    article_ids: tuple[int, ...] = ()
    state: str = PENDING
    reason: str | None = None


def _delivery(row: DigestDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        chat_id=row.chat_id,
        digest_date=row.digest_date,
        state=row.state,
        reason=row.reason,
        article_ids=tuple(json.loads(row.article_ids or "[]")),
        parts_total=row.parts_total,
        parts_sent=row.parts_sent,
        in_flight=row.in_flight,
        attempts=row.attempts,
        owner=row.owner,
    )


class DeliveryStore:
    def __init__(self, store: ArticleStore) -> None:
        self._store = store
        self._marks: Connection | None = None  # see start_part

    def claim(
        self,
        chat_id: int,
        digest_date: str,
        *,
        article_ids: Iterable[int] = (),
        state: str = PENDING,
        reason: str | None = None,
    ) -> Delivery | None:
        """Create the record for (chat, date); None when one exists already (someone else's)."""
        try:
            with self._store.session() as session:
                row = DigestDeliveryRow(
                    chat_id=chat_id,
                    digest_date=digest_date,
                    state=state,
                    reason=reason,
                    article_ids=json.dumps(list(article_ids)),
                    parts_total=0,
                    parts_sent=0,
                    in_flight=False,
                    attempts=0,
                    owner=self._store.instances.id,
                )
                session.add(row)
                session.flush()
                return _delivery(row)
        except IntegrityError:
            return None

    def claim_many(self, entries: list[ClaimEntry]) -> list[Delivery]:
        """Claim many (chat, date) records at once; returns only those this call created."""
        if not entries:
            return []
        insert = insert_for(self._store.engine)
        now = utcnow()
        owner = self._store.instances.id
        created: list[Delivery] = []
        with self._store.session() as session:
            for start in range(0, len(entries), 500):
                rows = [
                    {
                        "chat_id": e.chat_id,
                        "digest_date": e.digest_date,
                        "state": e.state,
                        "reason": e.reason,
                        "article_ids": json.dumps(list(e.article_ids)),
                        "parts_total": 0,
                        "parts_sent": 0,
                        "in_flight": False,
                        "attempts": 0,
                        "owner": owner,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for e in entries[start : start + 500]
                ]
                statement = (
                    insert(DigestDeliveryRow)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["chat_id", "digest_date"])
                    .returning(DigestDeliveryRow)
                )
                created.extend(_delivery(row) for row in session.scalars(statement))
        return created

    def get(self, chat_id: int, digest_date: str) -> Delivery | None:
        with self._store.session() as session:
            row = session.scalar(
                select(DigestDeliveryRow).where(
                    DigestDeliveryRow.chat_id == chat_id,
                    DigestDeliveryRow.digest_date == digest_date,
                )
            )
            return _delivery(row) if row else None

    def existing(self, keys: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of the (chat, date) pairs already have a record."""
        wanted = list(keys)
        found: set[tuple[int, str]] = set()
        with self._store.session() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = session.execute(
                    select(DigestDeliveryRow.chat_id, DigestDeliveryRow.digest_date).where(
                        tuple_(DigestDeliveryRow.chat_id, DigestDeliveryRow.digest_date).in_(chunk)
                    )
                )
                found.update((chat_id, date) for chat_id, date in rows)
        return found

    def orphaned_count(self) -> int:
        """Unfinished deliveries whose instance stopped."""
        with self._store.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(DigestDeliveryRow)
                    .where(
                        DigestDeliveryRow.state.in_(UNFINISHED),
                        self._store.instances.orphaned(DigestDeliveryRow.owner),
                    )
                )
                or 0
            )

    def take_over_unfinished(
        self, written_by: Callable[[str | None], set[tuple[int, int]] | None] = lambda _: None
    ) -> list[Delivery]:
        """Unfinished deliveries whose instance stopped (or this one before a restart), now
        owned by this instance; each is taken by exactly one instance.

        A part in flight is settled in the same statement that changes the owner, from the
        wire journal of the instance that marked it (`written_by(owner)`, the (delivery,
        attempt) pairs it recorded, or None without a journal): a part the journal lacks never
        left and is sent again; otherwise it counts as sent. Settling later would leave a
        mark whose journal belongs to an owner that is no longer named.
        """
        instances = self._store.instances
        taken: list[Delivery] = []
        with self._store.session() as session:
            rows = list(
                session.scalars(
                    select(DigestDeliveryRow)
                    .where(
                        DigestDeliveryRow.state.in_(UNFINISHED),
                        instances.orphaned(DigestDeliveryRow.owner),
                    )
                    .order_by(DigestDeliveryRow.id)
                )
            )
        journals: dict[str | None, set[tuple[int, int]] | None] = {}
        for row in rows:
            changes: dict[str, object] = {"owner": instances.id}
            if row.in_flight:
                if row.owner not in journals:
                    journals[row.owner] = written_by(row.owner)
                written = journals[row.owner]
                changes["in_flight"] = False
                if written is not None and (row.id, row.attempts) not in written:
                    changes["reason"] = NEVER_LEFT
                else:
                    changes["parts_sent"] = row.parts_sent + 1
                    changes["reason"] = NOT_SENT_AGAIN
            with self._store.session() as session:
                previous = (
                    DigestDeliveryRow.owner.is_(None)
                    if row.owner is None
                    else DigestDeliveryRow.owner == row.owner
                )
                won = session.execute(
                    update(DigestDeliveryRow)
                    .where(
                        DigestDeliveryRow.id == row.id,
                        DigestDeliveryRow.state.in_(UNFINISHED),
                        DigestDeliveryRow.attempts == row.attempts,
                        previous,
                    )
                    .values(**changes)
                ).rowcount
            if won:
                delivery = _delivery(row)
                fields = {k: v for k, v in changes.items() if k != "owner"}
                taken.append(replace(delivery, owner=instances.id, **fields))
        return taken

    def _update(self, delivery_id: int, **changes: object) -> Delivery:
        with self._store.session() as session:
            row = session.get(DigestDeliveryRow, delivery_id)
            assert row is not None
            for key, value in changes.items():
                setattr(row, key, value)
            session.flush()
            return _delivery(row)

    def start_part(self, delivery_id: int, parts_total: int) -> int:
        """Mark the next part as handed to Telegram (its outcome unknown until recorded);
        returns the attempt's number, for the wire journal.

        One statement on a connection kept in autocommit mode rather than a session's get,
        flush, commit and return to the pool: it runs on the event loop once per part.
        """
        table = DigestDeliveryRow.__table__
        statement = (
            update(table)
            .where(table.c.id == delivery_id)
            .values(
                state=SENDING,
                parts_total=parts_total,
                in_flight=True,
                attempts=table.c.attempts + 1,
            )
            .returning(table.c.attempts)
        )
        try:
            if self._marks is None:
                self._marks = self._store.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            return self._marks.execute(statement).scalar_one()
        except DBAPIError as exc:
            self.close()  # a broken connection is replaced at the next mark
            if isinstance(exc, OperationalError):
                raise store_error(exc) from exc
            raise

    def close(self) -> None:
        if self._marks is not None:
            marks, self._marks = self._marks, None
            with contextlib.suppress(DBAPIError):
                marks.close()

    def part_sent(self, delivery_id: int) -> Delivery:
        """Record a delivered part; after the last one the digest is sent and the chat's
        watermark moves past its articles, in the same transaction."""
        with self._store.session() as session:
            row = session.get(DigestDeliveryRow, delivery_id)
            assert row is not None
            row.parts_sent += 1
            row.in_flight = False
            if row.parts_sent >= row.parts_total:
                self._mark_sent(session, row)
            session.flush()
            return _delivery(row)

    @staticmethod
    def _mark_sent(session: Session, row: DigestDeliveryRow) -> None:
        row.state = SENT
        row.in_flight = False
        row.sent_at = utcnow()
        article_ids = json.loads(row.article_ids or "[]")
        chat = session.get(ChatRow, row.chat_id)
        if chat is not None and article_ids:
            chat.digest_watermark = max(chat.digest_watermark or 0, *article_ids)

    def part_not_sent(self, delivery_id: int) -> None:
        """The part was refused for sure (an error answer), so it may be tried again."""
        self._update(delivery_id, in_flight=False)

    def complete(self, delivery_id: int) -> None:
        """Every part is out (some perhaps before a restart): the digest counts as sent."""
        with self._store.session() as session:
            row = session.get(DigestDeliveryRow, delivery_id)
            assert row is not None
            if row.state != SENT:
                self._mark_sent(session, row)

    def finish(self, delivery_id: int, state: str, reason: str | None = None) -> None:
        """End a delivery that was not sent (failed or skipped), with the reason."""
        self._update(delivery_id, state=state, reason=reason, in_flight=False)

    def record_run(self, run: DigestRun) -> None:
        with self._store.session() as session:
            session.add(
                DigestRunRow(
                    started_at=run.started_at,
                    finished_at=run.finished_at,
                    sent=run.sent,
                    skipped=run.skipped,
                    failed=run.failed,
                )
            )

    def last_run(self) -> DigestRun | None:
        with self._store.session() as session:
            row = session.scalar(select(DigestRunRow).order_by(DigestRunRow.id.desc()).limit(1))
            if row is None:
                return None
            return DigestRun(row.started_at, row.finished_at, row.sent, row.skipped, row.failed)
