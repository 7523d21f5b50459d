"""Which Briefbot processes are alive, by their heartbeat in the database.

Every claim on shared work (an update, a summary, a digest) names its owner. Work whose owner
stopped beating is free for any other instance, which is how a second instance (or the same
one after a restart) finishes what a stopped one left behind.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update

from briefbot.coordination.schema import InstanceRow
from briefbot.database import Database, record, utcnow

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    role: str
    host: str
    pid: int
    model: str | None
    writes_any_language: bool
    started_at: datetime


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Instances:
    """This process's entry among the instances, and what it can tell about the others."""

    def __init__(
        self, db: Database, *, role: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> None:
        self.db = db
        self.role = role
        self.model: str | None = None
        self.writes_any_language = False
        self.lease = timedelta(seconds=lease_seconds)
        self.host = socket.gethostname()[:200]
        self.id = f"{self.host[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.started_at = utcnow()

    def register(self) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            # Rows of processes gone for a day tell nothing any more.
            session.execute(
                delete(InstanceRow).where(InstanceRow.heartbeat_at < now - timedelta(days=1))
            )
            # On this host, a process that is gone is dead for sure: its work is free now,
            # not after the lease.
            same_host = select(InstanceRow).where(
                InstanceRow.host == self.host, InstanceRow.pid != os.getpid()
            )
            for row in session.scalars(same_host):
                if not _process_exists(row.pid):
                    logger.info("Instance %s is gone; its unfinished work is free", row.id)
                    session.delete(row)
            session.add(self._row(now))
        logger.info("Instance %s (%s) registered", self.id, self.role)

    def _row(self, now: datetime) -> InstanceRow:
        return InstanceRow(
            id=self.id,
            role=self.role,
            host=self.host,
            pid=os.getpid(),
            model=self.model,
            writes_any_language=self.writes_any_language,
            started_at=self.started_at,
            heartbeat_at=now,
        )

    def heartbeat(self) -> None:
        with self.db.transaction() as session:
            beat = (
                update(InstanceRow).where(InstanceRow.id == self.id).values(heartbeat_at=utcnow())
            )
            if not self.db.changed(session, beat):
                # Removed by an operator or after a long stall: come back.
                session.add(self._row(utcnow()))

    def unregister(self) -> None:
        """On a clean stop: whatever this instance still holds is free at once."""
        with self.db.transaction() as session:
            session.execute(delete(InstanceRow).where(InstanceRow.id == self.id))

    def live(self) -> list[Instance]:
        cutoff = utcnow() - self.lease
        with self.db.transaction() as session:
            rows = session.scalars(
                select(InstanceRow)
                .where(InstanceRow.heartbeat_at >= cutoff)
                .order_by(InstanceRow.started_at)
            )
            return [record(Instance, row) for row in rows]

    def serving(self) -> Instance | None:
        """The newest live instance that runs a model (a worker, say), for instances that run
        none: its `model` and whether it `writes_any_language`."""
        for instance in reversed(self.live()):
            if instance.model:
                return instance
        return None

    def orphaned(self, owner: Any) -> ColumnElement[bool]:
        """SQL condition on an `owner` column: no live instance holds the row."""
        cutoff = utcnow() - self.lease
        alive = select(InstanceRow.id).where(InstanceRow.heartbeat_at >= cutoff)
        return or_(owner.is_(None), and_(owner != self.id, owner.not_in(alive)))
