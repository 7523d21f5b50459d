"""A throwaway PostgreSQL server for the tests, from the Debian package's binaries.

TEST_DATABASE_URL (a server URL whose user may create databases) uses an existing server
instead. Without either, PostgreSQL variants of the tests are skipped, with the reason shown.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER_URL_VARIABLE = "TEST_DATABASE_URL"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/")[4])
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url: str | None = os.environ.get(SERVER_URL_VARIABLE)
        self._dir: Path | None = None
        self._bin = _binaries()
        self._as_postgres = os.geteuid() == 0  # the server refuses to run as root

    @property
    def available(self) -> bool:
        return self.url is not None or self._bin is not None

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        if self.url is not None:
            return self.url
        assert self._bin is not None
        self._dir = Path(tempfile.mkdtemp(prefix="briefbot-pg-"))
        if self._as_postgres:
            shutil.chown(self._dir, "postgres")
        data = self._dir / "data"
        self._run(str(self._bin / "initdb"), "-D", str(data), "-U", "briefbot", "-A", "trust")
        options = (
            f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            str(self._bin / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(self._dir / "server.log"), "-w", "start",
        )  # fmt: skip
        self.url = f"postgresql+psycopg://briefbot@127.0.0.1:{self.port}/postgres"
        return self.url

    def stop(self) -> None:
        if self._dir is None or self._bin is None:
            return
        self._run(
            str(self._bin / "pg_ctl"), "-D", str(self._dir / "data"), "-m", "immediate", "stop"
        )
        shutil.rmtree(self._dir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        assert self.url is not None
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, name: str) -> None:
        assert self.url is not None
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """A new, empty database on the server for one test; dropped afterwards."""
    if not server.available:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    name = f"briefbot_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)
