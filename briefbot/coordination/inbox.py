"""The update inbox: every Telegram update is stored before it is acknowledged.

Long polling confirms updates with the next getUpdates call, and a webhook answers 200 once
the update is queued, so an update only in memory is lost if the process dies. Stored first,
owned by the instance that received it, it is handled after a restart (or by another
instance) instead; marked done, it is never handled again, whether Telegram delivers it twice
or a webhook retry repeats it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from briefbot.coordination.instances import Instances
from briefbot.coordination.schema import UpdateRow
from briefbot.database import Database, table_of, utcnow

logger = logging.getLogger(__name__)


class UpdateState(StrEnum):
    RECEIVED = "received"
    DONE = "done"
    DROPPED = "dropped"  # refused by the flood gate: never handled
    FAILED = "failed"  # given up on


# An update that stopped the process this many times is given up.
MAX_UPDATE_ATTEMPTS = 5
UPDATE_KINDS = ("message", "edited_message", "channel_post", "callback_query", "my_chat_member")


def chat_of(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to, from its JSON (a button press: its message's chat)."""
    for kind in UPDATE_KINDS:
        body = payload.get(kind)
        if isinstance(body, dict):
            holder = body.get("message") if kind == "callback_query" else body
            chat = holder.get("chat") if isinstance(holder, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
    return None


class Inbox:
    def __init__(self, db: Database, instances: Instances) -> None:
        self.db = db
        self.instances = instances

    def record(
        self,
        payloads: Iterable[dict[str, Any]],
        dropped: AbstractSet[int] = frozenset(),
        session: Session | None = None,
    ) -> set[int]:
        """Store updates not seen before, owned by this instance; returns the ids of the new
        ones to handle. Updates in `dropped` (refused by the flood gate) are stored as done
        too, so that
        they are never handled."""
        now = utcnow()
        rows = [
            {
                "update_id": int(p["update_id"]),
                "chat_id": chat_of(p),
                "payload": json.dumps(p, ensure_ascii=False),
                "state": UpdateState.DROPPED
                if int(p["update_id"]) in dropped
                else UpdateState.RECEIVED,
                "owner": self.instances.id,
                "attempts": 0,
                "received_at": now,
                "updated_at": now,
            }
            for p in payloads
        ]
        if not rows:
            return set()
        statement = (
            self.db.insert(table_of(UpdateRow))
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(UpdateRow.update_id)
        )
        with self.db.transaction(session) as s:
            return set(s.scalars(statement, rows)) - dropped

    def done(self, update_id: int, session: Session | None = None) -> None:
        with self.db.transaction(session) as s:
            self.db.apply(s, _DONE, update=update_id, now=utcnow())

    def take_over(self, limit: int = 500, session: Session | None = None) -> list[dict[str, Any]]:
        """Updates left unhandled by an instance that stopped (this one before a restart
        included), now owned by this instance; each is taken by one instance only.

        An attempt counts each life that may have had the update in hand when it stopped; one
        that reaches MAX_UPDATE_ATTEMPTS (it keeps stopping the process) is given up. A fresh
        update's handling writes nothing before the end, so when its instance stopped, the
        first unhandled update of each chat (a chat's updates run one after another) counts an
        attempt here, once. A taken-over update counts its attempts as it begins
        (`begin_again`), so lives that stop before they reach it count none.
        """
        orphaned = self.instances.orphaned(UpdateRow.owner)
        waiting = (UpdateRow.state == UpdateState.RECEIVED) & orphaned
        heads = select(func.min(UpdateRow.update_id)).where(waiting).group_by(UpdateRow.chat_id)
        with self.db.transaction(session) as s:
            s.execute(
                update(UpdateRow)
                .where(
                    UpdateRow.update_id.in_(heads.scalar_subquery()),
                    waiting,
                    UpdateRow.attempts == 0,
                )
                .values(attempts=1)
            )
            failed = self.db.changed(
                s,
                update(UpdateRow)
                .where(waiting, UpdateRow.attempts >= MAX_UPDATE_ATTEMPTS)
                .values(state=UpdateState.FAILED, updated_at=utcnow()),
            )
            if failed:
                logger.error("Gave up on %d updates that stopped the bot repeatedly", failed)
            wanted = select(UpdateRow.update_id).where(waiting).order_by(UpdateRow.update_id)
            payloads = s.scalars(
                update(UpdateRow)
                .where(UpdateRow.update_id.in_(wanted.limit(limit).scalar_subquery()), waiting)
                .values(owner=self.instances.id, updated_at=utcnow())
                .returning(UpdateRow.payload)
            ).all()
        updates = sorted((json.loads(p) for p in payloads), key=lambda u: u["update_id"])
        if updates:
            logger.info("Taking over %d stored updates that were not handled", len(updates))
        return updates

    def begin_again(self, update_id: int) -> None:
        """A taken-over update is about to be handled: one more attempt (see take_over)."""
        with self.db.transaction() as s:
            s.execute(
                update(table_of(UpdateRow))
                .where(UpdateRow.update_id == update_id)
                .values(attempts=UpdateRow.attempts + 1, updated_at=utcnow())
            )

    def prune(self, older_than: timedelta = timedelta(days=2)) -> int:
        cutoff = utcnow() - older_than
        finished = UpdateRow.state.in_((UpdateState.DONE, UpdateState.DROPPED, UpdateState.FAILED))
        with self.db.transaction() as session:
            statement = delete(UpdateRow).where(finished, UpdateRow.updated_at < cutoff)
            return self.db.changed(session, statement)

    def counts(self) -> dict[str, int]:
        with self.db.transaction() as session:
            rows = session.execute(select(UpdateRow.state, func.count()).group_by(UpdateRow.state))
            return {state: int(count) for state, count in rows}


_UPDATES = table_of(UpdateRow)
# Run for every update (see database.Prepared).
_DONE = (
    update(_UPDATES)
    .where(_UPDATES.c.update_id == bindparam("update"))
    .values(state=UpdateState.DONE, updated_at=bindparam("now"))
)
