"""Wire journal: which digest parts reached the point of being written to Telegram's socket.

A digest part is marked "in flight" in the database before its request body is written. The
database call gives up the GIL, and while another thread (the model's) holds it the event loop
waits; a `kill -9` in that wait used to lose the part, because after a restart a part in
flight counts as sent. So after the database mark, and right before the write, the part is
also recorded here: a store into a memory-mapped file, which survives the process at once
(the page belongs to the kernel) and does not give up the GIL. After a restart on the same
host, a part marked in flight but missing from its instance's journal never left, and is sent
again. Where no journal is found (another host took over), the part counts as sent, as before.
"""

from __future__ import annotations

import logging
import mmap
import re
import struct
import time
from pathlib import Path

from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

RECORD = struct.Struct("<qq")  # delivery id, attempt number
SLOTS = 65_536  # a ring; far more than the parts that can be open at once
KEEP_SECONDS = 7 * 24 * 3600
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def journal_folder(database_url: str) -> Path:
    """Beside a SQLite database; in ./data/wire for a database server."""
    url = make_url(database_url)
    database = url.database or ""
    local_file = database not in ("", ":memory:") and not database.startswith("file:")
    if url.get_backend_name() == "sqlite" and local_file:
        return Path(database).expanduser().parent / "wire"
    return Path("data/wire")


class WireJournal:
    """One instance's journal, written before each digest part's body goes out."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("a+b") as file:
            file.truncate(RECORD.size * SLOTS)
            self._map = mmap.mmap(file.fileno(), RECORD.size * SLOTS)
        self._next = 0

    def record(self, delivery_id: int, attempt: int) -> None:
        RECORD.pack_into(self._map, (self._next % SLOTS) * RECORD.size, delivery_id, attempt)
        self._next += 1

    def close(self) -> None:
        self._map.close()


class WireJournals:
    """The journals of the instances on this host, one file each, in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, instance_id: str) -> Path:
        return self.folder / f"{_UNSAFE.sub('_', instance_id)}.wire"

    def open(self, instance_id: str) -> WireJournal | None:
        """This instance's journal; None (parts in flight count as sent) if it cannot be made."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._forget_old()
            return WireJournal(self._path(instance_id))
        except (OSError, ValueError) as exc:
            logger.warning(
                "No wire journal in %s (%s); parts in flight at a crash count as sent",
                self.folder,
                exc,
            )
            return None

    def written(self, instance_id: str | None) -> set[tuple[int, int]] | None:
        """(delivery, attempt) pairs that instance recorded; None when its journal is not here."""
        if instance_id is None:
            return None
        try:
            data = self._path(instance_id).read_bytes()
        except OSError:
            return None
        usable = len(data) - len(data) % RECORD.size
        return {pair for pair in RECORD.iter_unpack(data[:usable]) if pair != (0, 0)}

    def _forget_old(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for path in self.folder.glob("*.wire"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue
