"""Bot admins added at run time (`briefbot admins add`), besides those in BRIEFBOT_ADMINS."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from briefbot.chats.schema import AdminRow
from briefbot.database import Database


class Admins:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> set[int]:
        with self.db.transaction() as session:
            return set(session.scalars(select(AdminRow.user_id)))

    def add(self, user_id: int) -> bool:
        """Returns whether the user was not an admin yet."""
        try:
            with self.db.transaction() as session:
                session.add(AdminRow(user_id=user_id))
        except IntegrityError:
            return False
        return True

    def remove(self, user_id: int) -> bool:
        with self.db.transaction() as session:
            statement = delete(AdminRow).where(AdminRow.user_id == user_id)
            return bool(self.db.changed(session, statement))
