"""Instance registry: which Briefbot processes are alive, by their heartbeat in the database.

Every claim on shared work (an update, a summary, a digest) names its owner. Work whose owner
stopped beating is free for any other instance, which is how a second instance (or the same
one after a restart) finishes what a killed one left behind.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, delete, or_, select

from briefbot.articles.schema import InstanceRow, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import InstrumentedAttribute

    from briefbot.articles.store import ArticleStore

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0
# Instances registered by this process (tests and the console run several in one process).
_REGISTERED_HERE: set[str] = set()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class InstanceRegistry:
    def __init__(
        self,
        store: ArticleStore,
        *,
        role: str = "bot",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._store = store
        self.role = role
        self.model: str | None = None
        self.lease = timedelta(seconds=lease_seconds)
        self.id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def register(self) -> None:
        now = utcnow()
        with self._store.session() as session:
            # Rows of processes gone for a day tell nothing any more.
            session.execute(
                delete(InstanceRow).where(InstanceRow.heartbeat_at < now - timedelta(days=1))
            )
            host = socket.gethostname()[:256]
            for row in session.scalars(select(InstanceRow).where(InstanceRow.host == host)):
                # Same host: a process that is gone (or had our pid, as in a restarted
                # container) is dead for sure, so its work is free now, not after the lease.
                if row.id in _REGISTERED_HERE:
                    continue  # another registry of this very process, alive
                if row.pid == os.getpid() or not _process_exists(row.pid):
                    logger.info("Instance %s is gone; its unfinished work is free", row.id)
                    session.delete(row)
            session.add(self._row(now))
        _REGISTERED_HERE.add(self.id)
        logger.info("Instance %s (%s) registered", self.id, self.role)

    def _row(self, now: datetime) -> InstanceRow:
        return InstanceRow(
            id=self.id,
            role=self.role,
            host=socket.gethostname()[:256],
            pid=os.getpid(),
            model=self.model,
            started_at=now,
            heartbeat_at=now,
        )

    def heartbeat(self) -> None:
        with self._store.session() as session:
            row = session.get(InstanceRow, self.id)
            if row is None:  # removed by an operator or after a long stall: come back
                session.add(self._row(utcnow()))
            else:
                row.heartbeat_at = utcnow()

    def unregister(self) -> None:
        """On a clean stop: whatever this instance still holds is free at once."""
        with self._store.session() as session:
            session.execute(delete(InstanceRow).where(InstanceRow.id == self.id))

    def live_ids(self, now: datetime | None = None) -> list[str]:
        cutoff = (now or utcnow()) - self.lease
        with self._store.session() as session:
            return list(
                session.scalars(select(InstanceRow.id).where(InstanceRow.heartbeat_at >= cutoff))
            )

    def live(self, now: datetime | None = None) -> list[InstanceRow]:
        cutoff = (now or utcnow()) - self.lease
        with self._store.session() as session:
            return list(
                session.scalars(select(InstanceRow).where(InstanceRow.heartbeat_at >= cutoff))
            )

    def served_model(self) -> str | None:
        """The model a live instance (a worker, say) runs, for instances that run none."""
        for row in sorted(self.live(), key=lambda r: r.started_at, reverse=True):
            if row.model:
                return row.model
        return None

    def orphaned(self, owner: InstrumentedAttribute[str | None]) -> ColumnElement[bool]:
        """SQL condition: the row's owner is no live instance (or there is none)."""
        cutoff = utcnow() - self.lease
        alive = select(InstanceRow.id).where(InstanceRow.heartbeat_at >= cutoff)
        return or_(owner.is_(None), and_(owner != self.id, owner.not_in(alive)))
