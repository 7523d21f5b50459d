"""The update inbox: every Telegram update is stored before it is acknowledged.

Long polling confirms updates with the next getUpdates call, and a webhook answers 200 as soon
as the update is queued, so an update in memory is lost if the process dies. Stored first, it
is handled after a restart (or by another instance) instead; marked done, it is never handled
twice, whether Telegram delivers it again or a webhook retry repeats it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from briefbot.articles.database import insert_for
from briefbot.articles.schema import UpdateRow, utcnow

if TYPE_CHECKING:
    from briefbot.articles.instances import InstanceRegistry
    from briefbot.articles.store import ArticleStore

logger = logging.getLogger(__name__)

RECEIVED, STARTED, DONE, FAILED = "received", "started", "done", "failed"
# A restart loop on one update (it kills the process) ends after this many tries.
MAX_ATTEMPTS = 10


class UpdateInbox:
    def __init__(self, store: ArticleStore, instances: InstanceRegistry) -> None:
        self._store = store
        self._instances = instances
        self._insert = insert_for(store.engine)

    def record(self, payloads: Iterable[dict[str, Any]]) -> int:
        """Store updates not seen before; returns how many were new."""
        now = utcnow()
        rows = [
            {
                "update_id": int(p["update_id"]),
                "payload": json.dumps(p, ensure_ascii=False),
                "state": RECEIVED,
                "owner": None,
                "attempts": 0,
                "received_at": now,
                "updated_at": now,
            }
            for p in payloads
        ]
        if not rows:
            return 0
        statement = (
            self._insert(UpdateRow)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(UpdateRow.update_id)
        )
        with self._store.session() as session:
            return len(list(session.scalars(statement)))

    def begin(
        self,
        update_id: int,
        payload: Callable[[], dict[str, Any]] | None = None,
    ) -> bool:
        """Claim an update for handling; False when it is done, failed or someone else's.

        An update that is not in the inbox yet (one that came another way) is stored as
        claimed, from `payload()`.
        """
        now = utcnow()
        me = self._instances.id
        with self._store.session() as session:
            claimed = session.execute(
                update(UpdateRow)
                .where(
                    UpdateRow.update_id == update_id,
                    UpdateRow.attempts < MAX_ATTEMPTS,
                    (UpdateRow.state == RECEIVED)
                    | ((UpdateRow.state == STARTED) & self._instances.orphaned(UpdateRow.owner)),
                )
                .values(state=STARTED, owner=me, attempts=UpdateRow.attempts + 1, updated_at=now)
            ).rowcount
            if claimed:
                return True
            if session.get(UpdateRow, update_id) is not None:
                return False
        if payload is None:
            return True
        statement = (
            self._insert(UpdateRow)
            .values(
                update_id=update_id,
                payload=json.dumps(payload(), ensure_ascii=False),
                state=STARTED,
                owner=me,
                attempts=1,
                received_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(UpdateRow.update_id)
        )
        with self._store.session() as session:
            return session.scalar(statement) is not None

    def give_up_on_crashers(self) -> int:
        """An update whose handling was interrupted MAX_ATTEMPTS times (say, it kills the
        process) is not tried again."""
        with self._store.session() as session:
            failed = session.execute(
                update(UpdateRow)
                .where(
                    UpdateRow.state == STARTED,
                    UpdateRow.attempts >= MAX_ATTEMPTS,
                    self._instances.orphaned(UpdateRow.owner),
                )
                .values(state=FAILED, updated_at=utcnow())
            ).rowcount
        if failed:
            logger.error("Gave up on %d updates interrupted %d times each", failed, MAX_ATTEMPTS)
        return failed

    def finish(self, update_id: int) -> None:
        with self._store.session() as session:
            session.execute(
                update(UpdateRow)
                .where(UpdateRow.update_id == update_id)
                .values(state=DONE, updated_at=utcnow())
            )

    def pending(self, min_age: timedelta = timedelta(0), limit: int = 500) -> list[dict[str, Any]]:
        """Updates stored but not handled (for at least `min_age`), or left half-handled by a
        dead instance. Another live instance may still be about to handle a fresh one, which
        is why the periodic sweep passes a min_age; `begin` settles any race either way."""
        cutoff = utcnow() - min_age
        with self._store.session() as session:
            rows = session.scalars(
                select(UpdateRow)
                .where(
                    UpdateRow.attempts < MAX_ATTEMPTS,
                    ((UpdateRow.state == RECEIVED) & (UpdateRow.received_at <= cutoff))
                    | ((UpdateRow.state == STARTED) & self._instances.orphaned(UpdateRow.owner)),
                )
                .order_by(UpdateRow.update_id)
                .limit(limit)
            )
            return [json.loads(row.payload) for row in rows]

    def prune(self, older_than: timedelta = timedelta(days=2)) -> int:
        cutoff = utcnow() - older_than
        with self._store.session() as session:
            return session.execute(
                delete(UpdateRow).where(
                    UpdateRow.state.in_((DONE, FAILED)), UpdateRow.updated_at < cutoff
                )
            ).rowcount

    def counts(self) -> dict[str, int]:
        with self._store.session() as session:
            rows = session.execute(select(UpdateRow.state, func.count()).group_by(UpdateRow.state))
            return {state: int(count) for state, count in rows}
