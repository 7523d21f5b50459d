"""Digest delivery records: one per (chat, local date), so no digest is ever sent twice.

The rule for a crash: each part of a digest is marked in flight just before it is sent, and
its answer recorded after. A part found in flight after a crash counts as sent and is never
sent again. So a crash never repeats a digest; it can lose the parts that were on their way
at that moment, at most one per chat being sent to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from briefbot.chats.records import Delivery, DigestRun
from briefbot.chats.schema import ChatRow, DigestDeliveryRow, DigestRunRow
from briefbot.coordination import Instances
from briefbot.database import Database, StoreError, record, utcnow


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


UNFINISHED = (DeliveryState.PENDING, DeliveryState.SENDING)
NOT_SENT_AGAIN = "a part was on its way at a restart and counts as sent; not sent again"
CLAIM_ROWS = 500


@dataclass(frozen=True, slots=True)
class ClaimEntry:
    chat_id: int
    digest_date: str
    article_ids: tuple[int, ...] = ()
    state: DeliveryState = DeliveryState.PENDING
    reason: str | None = None


def _delivery(row: DigestDeliveryRow) -> Delivery:
    return record(Delivery, row, article_ids=tuple(json.loads(row.article_ids or "[]")))


class Deliveries:
    def __init__(self, db: Database, instances: Instances) -> None:
        self.db = db
        self.instances = instances

    def claim_many(self, entries: list[ClaimEntry]) -> list[Delivery]:
        """Claim (chat, date) records; returns only those this call created (a record that
        exists already belongs to whoever made it)."""
        now = utcnow()
        created: list[Delivery] = []
        with self.db.transaction() as session:
            for start in range(0, len(entries), CLAIM_ROWS):
                fresh = {"parts_total": 0, "parts_sent": 0, "in_flight": False, "attempts": 0}
                rows = [
                    asdict(e)
                    | fresh
                    | {"article_ids": json.dumps(list(e.article_ids)), "owner": self.instances.id}
                    | {"created_at": now, "updated_at": now}
                    for e in entries[start : start + CLAIM_ROWS]
                ]
                statement = (
                    self.db.insert(DigestDeliveryRow)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["chat_id", "digest_date"])
                    .returning(DigestDeliveryRow)
                )
                created.extend(_delivery(row) for row in session.scalars(statement))
        return created

    def get(self, chat_id: int, digest_date: str) -> Delivery | None:
        at = (DigestDeliveryRow.chat_id == chat_id, DigestDeliveryRow.digest_date == digest_date)
        with self.db.transaction() as session:
            row = session.scalar(select(DigestDeliveryRow).where(*at))
            return _delivery(row) if row else None

    def existing(self, keys: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
        """Which of the (chat, date) pairs have a record already."""
        wanted = list(keys)
        found: set[tuple[int, str]] = set()
        pair = tuple_(DigestDeliveryRow.chat_id, DigestDeliveryRow.digest_date)
        with self.db.transaction() as session:
            for start in range(0, len(wanted), CLAIM_ROWS):
                chunk = wanted[start : start + CLAIM_ROWS]
                rows = session.execute(
                    select(DigestDeliveryRow.chat_id, DigestDeliveryRow.digest_date).where(
                        pair.in_(chunk)
                    )
                )
                found.update((chat_id, day) for chat_id, day in rows)
        return found

    def orphaned_count(self) -> int:
        """Unfinished deliveries whose instance stopped."""
        with self.db.transaction() as session:
            count = session.scalar(
                select(func.count())
                .select_from(DigestDeliveryRow)
                .where(
                    DigestDeliveryRow.state.in_(UNFINISHED),
                    self.instances.orphaned(DigestDeliveryRow.owner),
                )
            )
            return count or 0

    def take_over_unfinished(self) -> list[Delivery]:
        """Unfinished deliveries whose instance stopped (this one before a restart included),
        now owned by this instance; each is taken by one instance only. A part in flight
        counts as sent (see the module's rule)."""
        with self.db.transaction() as session:
            rows = session.scalars(
                select(DigestDeliveryRow)
                .where(
                    DigestDeliveryRow.state.in_(UNFINISHED),
                    self.instances.orphaned(DigestDeliveryRow.owner),
                )
                .order_by(DigestDeliveryRow.id)
            ).all()
            taken: list[Delivery] = []
            for row in rows:
                changes: dict[str, object] = {"owner": self.instances.id}
                if row.in_flight:
                    changes |= {
                        "in_flight": False,
                        "parts_sent": row.parts_sent + 1,
                        "reason": NOT_SENT_AGAIN,
                    }
                won = self.db.changed(
                    session,
                    update(DigestDeliveryRow)
                    .where(
                        DigestDeliveryRow.id == row.id,
                        DigestDeliveryRow.attempts == row.attempts,
                        DigestDeliveryRow.state.in_(UNFINISHED),
                        self.instances.orphaned(DigestDeliveryRow.owner),
                    )
                    .values(**changes),
                )
                if won:
                    taken.append(replace(_delivery(row), **changes))  # type: ignore[arg-type]
            return taken

    def start_part(self, delivery_id: int, parts_total: int) -> None:
        """The next part is about to be sent: from here on a crash counts it as sent."""
        with self.db.transaction() as session:
            session.execute(
                update(DigestDeliveryRow)
                .where(DigestDeliveryRow.id == delivery_id)
                .values(
                    state=DeliveryState.SENDING,
                    parts_total=parts_total,
                    in_flight=True,
                    attempts=DigestDeliveryRow.attempts + 1,
                    updated_at=utcnow(),
                )
            )

    def part_sent(self, delivery_id: int, reason: str | None = None) -> None:
        """Record a delivered part; after the last one the digest is sent and the chat's
        watermark moves past its articles, in the same transaction."""
        with self.db.transaction() as session:
            row = self._row(session, delivery_id)
            row.parts_sent, row.in_flight = row.parts_sent + 1, False
            row.reason = reason or row.reason
            if row.parts_sent >= row.parts_total:
                self._mark_sent(session, row)

    def part_not_sent(self, delivery_id: int) -> None:
        """The part was refused for sure (an error answer), so it may be tried again."""
        with self.db.transaction() as session:
            self._row(session, delivery_id).in_flight = False

    def complete(self, delivery_id: int) -> None:
        """Every part is out (some perhaps before a restart): the digest counts as sent."""
        with self.db.transaction() as session:
            row = self._row(session, delivery_id)
            if row.state != DeliveryState.SENT:
                self._mark_sent(session, row)

    def finish(self, delivery_id: int, state: DeliveryState, reason: str | None = None) -> None:
        """End a delivery that was not sent (failed or skipped), with the reason."""
        with self.db.transaction() as session:
            row = self._row(session, delivery_id)
            row.state, row.reason, row.in_flight = state, (reason or "")[:500] or None, False

    @staticmethod
    def _row(session: Session, delivery_id: int) -> DigestDeliveryRow:
        row = session.get(DigestDeliveryRow, delivery_id)
        if row is None:
            raise StoreError(f"digest delivery {delivery_id} is gone")
        return row

    @staticmethod
    def _mark_sent(session: Session, row: DigestDeliveryRow) -> None:
        row.state = DeliveryState.SENT
        row.in_flight = False
        row.sent_at = utcnow()
        article_ids = json.loads(row.article_ids or "[]")
        chat = session.get(ChatRow, row.chat_id)
        if chat is not None and article_ids:
            chat.digest_watermark = max(chat.digest_watermark or 0, *article_ids)

    def record_run(self, run: DigestRun) -> None:
        with self.db.transaction() as session:
            session.add(DigestRunRow(**asdict(run)))

    def last_run(self) -> DigestRun | None:
        with self.db.transaction() as session:
            row = session.scalar(select(DigestRunRow).order_by(DigestRunRow.id.desc()).limit(1))
            if row is None:
                return None
            return record(DigestRun, row)
