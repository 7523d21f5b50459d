"""How long a digest part counts as sent before its bytes really leave, with the model busy.

    python bench/wire_gap.py [--chats 2000] [--rate 200]

A digest part is marked "in flight" just before its request body is written to the socket;
a `kill -9` between the point that makes it count as sent and the write loses that part
(Telegram has no idempotency key, so the other order would send it twice instead). Nothing in
Briefbot awaits in between, but Python still runs there, and a database call gives up the GIL:
while the model thread runs Python the event loop then waits to get it back.

This measures both candidate points of no return for every part of one real fan-out (the real
Application and DigestScheduler against the Bot API stand-in, which runs in this process too)
while another thread keeps the embedded model summarizing:
- baseline: the database mark (start of its statement) to the write, which is what counted
  before the wire journal;
- Briefbot: the wire journal's record (a store into a memory-mapped file, no GIL release) to
  the write, which is what counts now when the journal is there after a restart.
"Exposed" is the share of the fan-out's time inside such a gap: the chance that a crash at a
random moment loses a part.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fanout import ARTICLE as SHORT_ARTICLE
from fanout import DUE, start_digest_bot

from briefbot.articles import ArticleStore
from briefbot.articles.wire import WireJournal
from briefbot.bot.handlers.digest import SCHEDULER_KEY
from briefbot.models import Document, Summarizer, SummaryLength, load_summarizer
from tests.botapi import FakeBotApi

ARTICLE = SHORT_ARTICLE * 8  # the model thread summarizes this, to stay busy


class GapRecorder:
    """Times the database mark and the journal record of each part, then its body write."""

    def __init__(self, loop_thread: int) -> None:
        self.loop_thread = loop_thread
        self.marked = 0.0
        self.journaled = 0.0
        self.from_mark: list[float] = []
        self.from_journal: list[float] = []

    def mark(self) -> None:
        if threading.get_ident() == self.loop_thread:
            self.marked = time.perf_counter()

    def journal(self) -> None:
        self.journaled = time.perf_counter()

    def written(self, data: bytes) -> None:
        if b"chat_id=" in bytes(data[:64]) and self.marked and self.journaled:
            now = time.perf_counter()
            self.from_mark.append(now - self.marked)
            self.from_journal.append(now - self.journaled)
            self.marked = self.journaled = 0.0


@contextmanager
def recording(store: ArticleStore, recorder: GapRecorder) -> Iterator[None]:
    dialect = store.engine.dialect
    execute = dialect.do_execute
    transport = asyncio.selector_events._SelectorSocketTransport  # type: ignore[attr-defined]
    write = transport.write
    record = WireJournal.record

    def timed_execute(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if "in_flight" in statement and statement.lstrip().upper().startswith("UPDATE"):
            recorder.mark()
        execute(cursor, statement, parameters, context)

    def timed_record(self: WireJournal, delivery_id: int, attempt: int) -> None:
        record(self, delivery_id, attempt)
        recorder.journal()

    def timed_write(self: Any, data: bytes) -> None:
        # Timed before the call: the bytes leave inside it, and it then waits for the GIL.
        recorder.written(data)
        write(self, data)

    dialect.do_execute, transport.write = timed_execute, timed_write
    WireJournal.record = timed_record  # type: ignore[method-assign]
    try:
        yield
    finally:
        dialect.do_execute, transport.write = execute, write
        WireJournal.record = record  # type: ignore[method-assign]


def fan_out(chats: int, rate: float, summarizer: Summarizer) -> tuple[GapRecorder, float]:
    api = FakeBotApi().start()
    with tempfile.TemporaryDirectory() as folder:
        bot = start_digest_bot(api, folder, chats, rate, summarizer, precompute=False)
        store = bot.services.store
        recorder = GapRecorder(bot.call(_loop_thread(), 10))
        stop = threading.Event()
        model = threading.Thread(target=_keep_model_busy, args=(summarizer, stop), daemon=True)
        model.start()
        try:
            with recording(store, recorder):
                scheduler = bot.application.bot_data[SCHEDULER_KEY]
                started = time.perf_counter()
                bot.call(scheduler.run_due(DUE), 3600)
                elapsed = time.perf_counter() - started
        finally:
            stop.set()
            model.join()
            bot.stop()
    api.stop()
    return recorder, elapsed


async def _loop_thread() -> int:
    return threading.get_ident()


def _keep_model_busy(summarizer: Summarizer, stop: threading.Event) -> None:
    documents = [Document(text=ARTICLE, title=f"Story {n}") for n in range(4)]
    while not stop.is_set():
        summarizer.summarize_many(documents, SummaryLength.STANDARD)


def _describe(label: str, gaps: list[float], elapsed: float) -> str:
    ms = sorted(g * 1000 for g in gaps)
    return (
        f"{label}: median {statistics.median(ms):.3f} ms, p90 {ms[int(len(ms) * 0.9)]:.3f} ms, "
        f"p99 {ms[int(len(ms) * 0.99)]:.3f} ms, max {ms[-1]:.3f} ms; "
        f"exposed {sum(ms) / 1000 / elapsed:.3%} of the time"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    summarizer = load_summarizer("embedded", threads=1)
    recorder, elapsed = fan_out(args.chats, args.rate, summarizer)
    print(f"{len(recorder.from_mark)} parts in {elapsed:.1f} s with the model busy")
    print(_describe("baseline, database mark to write", recorder.from_mark, elapsed))
    print(_describe("briefbot, journal record to write", recorder.from_journal, elapsed))


if __name__ == "__main__":
    main()
