"""StoreError: what the store raises when the database cannot be read or written."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError


class StoreError(RuntimeError):
    """The database could not be read or written; `kind` says why: full, locked or other."""

    def __init__(self, message: str, kind: str = "unavailable") -> None:
        super().__init__(message)
        self.kind = kind


# SQLite's messages and PostgreSQL's SQLSTATE codes for a full disk and for lock waits.
_FULL = ("database or disk is full", "no space left on device", "disk full")
_LOCKED = ("database is locked", "database table is locked", "lock timeout")
_FULL_STATES = {"53100", "53000"}
_LOCKED_STATES = {"55P03", "40P01"}


def store_error(exc: OperationalError) -> StoreError:
    message = str(exc.orig).strip()
    lowered = message.lower()
    state = getattr(exc.orig, "sqlstate", None)
    if state in _FULL_STATES or any(m in lowered for m in _FULL):
        kind = "full"
    elif state in _LOCKED_STATES or any(m in lowered for m in _LOCKED):
        kind = "locked"
    else:
        kind = "unavailable"
    return StoreError(
        f"database error ({kind}): {message.splitlines()[0] if message else exc}", kind
    )
