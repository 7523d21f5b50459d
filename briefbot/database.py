"""The database every room shares: engine, migrations, transactions and the thread boundary.

Every room (articles, chats, coordination) is synchronous code over SQLAlchemy sessions. Code
on the asyncio loop never calls it directly: it goes through `Database.run`, which runs the
call on the database's own small thread pool. That is the one place where blocking database
work leaves the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    CursorResult,
    DateTime,
    Engine,
    Executable,
    Table,
    TypeDecorator,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SUPPORTED = ("sqlite", "postgresql")
# How long a write waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000
# Any fixed number: instances starting together on PostgreSQL migrate one after another.
_MIGRATION_LOCK = 0x62726965  # "brie"
# Row ids are 32-bit integers in the schema; PostgreSQL refuses a larger number outright.
MAX_ROW_ID = 2**31 - 1

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def valid_row_id(value: int) -> bool:
    """Whether `value` can be a row id at all (ids from commands and buttons are untrusted)."""
    return 0 < value <= MAX_ROW_ID


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(row: type[Base]) -> Table:
    """The table behind an ORM class, for plain Core statements on hot paths (they skip the
    ORM's bookkeeping, about a third of a short transaction's cost)."""
    return cast(Table, row.__table__)


def record(cls: type[R], row: object, **values: Any) -> R:
    """A plain record (a dataclass) from the row's attributes (or a fetched row's keys) of the
    same names; `values` replace some. Callers get records, never live ORM objects."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if isinstance(row, dict):
        return cls(**{n: row[n] for n in names if n not in values}, **values)
    return cls(**{n: getattr(row, n) for n in names if n not in values}, **values)


class Base(DeclarativeBase):
    pass


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes; SQLite forgets the zone, so values come back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


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
    first_line = message.splitlines()[0] if message else str(exc)
    return StoreError(f"database error ({kind}): {first_line}", kind)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


class WriterTurns:
    """SQLite lets one transaction write at a time. Another one that tries gets "database is
    locked" and sleeps in growing steps (up to 100 ms a step) before it tries again, which
    put a quarter of a second (a second under load) on replies when a few updates were
    handled at once (BENCHMARKS, "Replies"). This process's threads take turns on a lock
    instead, from a transaction's first write until its connection goes back to the pool, and
    the next is woken at once. Other processes on the same file still meet SQLite's busy
    timeout; so does a thread that waited as long as that for its turn (nothing can wait
    forever here)."""

    KEY = "briefbot_writing"

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "checkin", self._checked_in)
        event.listen(engine, "invalidate", self._invalidated)

    @property
    def held(self) -> bool:
        return self._lock.locked()

    def before_write(self, info: dict[Any, Any]) -> None:
        if self.KEY not in info:  # once a transaction: a turn not had in time is not waited again
            info[self.KEY] = self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)

    def _before_execute(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:7].upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
            self.before_write(conn.info)

    def _release(self, info: dict[Any, Any]) -> None:
        if info.pop(self.KEY, False):
            self._lock.release()

    def _checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        self._release(record.info)

    def _invalidated(self, _dbapi_connection: Any, record: Any, _exception: Any) -> None:
        self._release(record.info)


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def create_database_engine(url: str) -> Engine:
    """An engine with the settings Briefbot relies on (WAL and foreign keys on SQLite)."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise StoreError(f"not a valid database URL: {url!r}") from None
    if backend not in SUPPORTED:
        raise StoreError(
            f"unsupported database {backend!r}: Briefbot runs on SQLite or PostgreSQL"
        )
    try:
        if backend == "sqlite":
            engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            folder = _sqlite_file(engine)
            if folder is not None:
                folder.parent.mkdir(parents=True, exist_ok=True)
            return engine
        return create_engine(url, pool_pre_ping=True, pool_size=8)
    except (ImportError, NoSuchModuleError) as exc:
        raise StoreError(
            f"no database driver for {make_url(url).drivername!r} is installed ({exc}); "
            "for PostgreSQL: pip install 'briefbot[postgres]'"
        ) from None


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the database to the newest migration; processes starting together take turns,
    so only the first one changes the schema."""
    config = alembic_config(engine)
    database = _sqlite_file(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            try:
                command.upgrade(config, "head")
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
    elif database is not None:
        import fcntl  # POSIX only, like the rest of Briefbot (see the README)

        with open(f"{database}.migrate-lock", "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            command.upgrade(config, "head")
    else:
        command.upgrade(config, "head")


class Prepared:
    """A statement compiled once for a dialect and run on the DB-API cursor of a session's
    connection, in that session's transaction.

    For the few short statements every update runs, SQLAlchemy's work per execution (cache
    keys, parameter and result handling) costs about five times the query itself on SQLite
    (BENCHMARKS, "Replies"). SQLAlchemy still writes the SQL for each dialect, and values pass
    through the columns' own type processors both ways, so rows read as they do through a
    session. Statements are module constants with named `bindparam`s.
    """

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        self.statement = statement
        self.compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = str(self.compiled)
        self.order = self.compiled.positiontup  # None for named parameter styles
        self.bind = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in self.compiled.binds.items()
        }
        self.columns = [
            (c.key, c.type.dialect_impl(dialect).result_processor(dialect, None))
            for c in getattr(statement, "exported_columns", ())
        ]
        self.errors = dialect.loaded_dbapi.Error

    def run(self, session: Session, params: dict[str, Any]) -> Any:
        values = self.compiled.construct_params(params)
        for name, process in self.bind.items():
            if process is not None:
                values[name] = process(values[name])
        args = tuple(values[name] for name in self.order) if self.order else values
        cursor = session.connection().connection.cursor()
        try:
            cursor.execute(self.sql, args)
        except self.errors as exc:
            cursor.close()
            raise DBAPIError.instance(self.sql, args, exc, self.errors) from exc
        return cursor

    def rows(self, cursor: Any) -> list[dict[str, Any]]:
        found = cursor.fetchall()
        cursor.close()
        return [
            {
                key: process(value) if process else value
                for (key, process), value in zip(self.columns, row, strict=True)
            }
            for row in found
        ]


class Database:
    """The engine, its transactions, and the thread pool that keeps them off the event loop."""

    def __init__(self, engine: Engine, *, threads: int = 4) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="database")
        dialect = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        self._insert = dialect[engine.dialect.name]
        self._prepared: dict[int, Prepared] = {}
        self.writers = WriterTurns(engine) if engine.dialect.name == "sqlite" else None

    @classmethod
    def open(cls, url: str) -> Database:
        """Connect and migrate the schema to the newest version; raises StoreError."""
        engine = create_database_engine(url)
        try:
            upgrade_schema(engine)
        except OperationalError as exc:
            engine.dispose()
            shown = engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot open the database at {shown}: {exc.orig}") from None
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, within: Session | None = None) -> Iterator[Session]:
        """One transaction, committed at the end and rolled back on any error; `within` joins
        a transaction the caller already has, so rooms' calls compose into one."""
        if within is not None:
            yield within
            return
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise store_error(exc) from exc

    @staticmethod
    def changed(session: Session, statement: Executable) -> int:
        """Run an UPDATE or DELETE; returns how many rows it changed."""
        result = cast("CursorResult[Any]", session.execute(statement))
        return int(result.rowcount)

    def _prepare(self, statement: ClauseElement) -> Prepared:
        prepared = self._prepared.get(id(statement))
        if prepared is None or prepared.statement is not statement:
            prepared = self._prepared[id(statement)] = Prepared(statement, self.engine.dialect)
        return prepared

    def fetch(
        self, session: Session, statement: ClauseElement, **params: Any
    ) -> list[dict[str, Any]]:
        """The rows of a hot-path statement (see Prepared), as dicts by column key."""
        prepared = self._prepare(statement)
        return prepared.rows(prepared.run(session, params))

    def apply(self, session: Session, statement: ClauseElement, **params: Any) -> int:
        """Run a hot-path UPDATE (see Prepared); returns how many rows it changed."""
        if self.writers is not None:  # the driver's cursor bypasses the engine's events
            self.writers.before_write(session.connection().info)
        cursor = self._prepare(statement).run(session, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def insert(self, table: type[Base] | Table) -> Any:
        """The dialect's INSERT, which has ON CONFLICT DO NOTHING (SQLite and PostgreSQL)."""
        return self._insert(table)

    async def run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking database call on the database's threads; the asyncio loop waits
        for it without blocking."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(call, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
