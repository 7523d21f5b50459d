"""The wire journal: records that survive `kill -9` the moment they are made."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from briefbot.articles.wire import SLOTS, WireJournals, journal_folder


def test_records_survive_a_kill_9(tmp_path: Path):
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from briefbot.articles.wire import WireJournals\n"
        "journal = WireJournals(Path(sys.argv[1])).open('host-1-abc')\n"
        "journal.record(5, 1)\n"
        "journal.record(7, 2)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    process = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert process.returncode == -signal.SIGKILL
    assert WireJournals(tmp_path).written("host-1-abc") == {(5, 1), (7, 2)}


def test_unknown_instances_have_no_journal(tmp_path: Path):
    journals = WireJournals(tmp_path)
    assert journals.written("never-ran-here") is None
    assert journals.written(None) is None
    journal = journals.open("odd/name: with spaces")
    assert journal is not None
    journal.record(1, 1)
    journal.close()
    assert journals.written("odd/name: with spaces") == {(1, 1)}
    assert [p.name for p in tmp_path.iterdir()] == ["odd_name__with_spaces.wire"]


def test_the_ring_keeps_the_newest_records(tmp_path: Path):
    journals = WireJournals(tmp_path)
    journal = journals.open("busy")
    for delivery_id in range(1, SLOTS + 2):
        journal.record(delivery_id, 1)
    journal.close()
    written = journals.written("busy")
    assert len(written) == SLOTS
    assert (1, 1) not in written and (SLOTS + 1, 1) in written


def test_a_journal_that_cannot_be_made_is_reported_not_fatal(tmp_path: Path, caplog):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert WireJournals(blocked / "wire").open("x") is None
    assert "No wire journal" in caplog.text


def test_folder_beside_sqlite_or_under_data():
    assert journal_folder("sqlite:////srv/bot/briefbot.db") == Path("/srv/bot/wire")
    assert journal_folder("sqlite:///data/briefbot.db") == Path("data/wire")
    assert journal_folder("postgresql+psycopg://u@db/briefbot") == Path("data/wire")
    assert journal_folder("sqlite:///:memory:") == Path("data/wire")
