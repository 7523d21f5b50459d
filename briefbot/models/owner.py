"""ModelOwner: the one object that holds the loaded model and the thread it runs on."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from briefbot.models.base import Document, Summarizer, SummaryLength

logger = logging.getLogger(__name__)


class ModelOwner:
    """Runs the summarizer on one dedicated thread, so the asyncio loop never waits on it and
    calls never compete for the CPU; a reader's call goes before the next background batch."""

    def __init__(self, summarizer: Summarizer) -> None:
        self.summarizer = summarizer
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._readers = 0
        self._no_readers = asyncio.Event()
        self._no_readers.set()

    @property
    def name(self) -> str:
        return self.summarizer.name

    @property
    def label(self) -> str:
        return self.summarizer.label

    async def summarize(
        self, documents: Sequence[Document], length: SummaryLength, *, reader: bool = False
    ) -> list[str]:
        """Summaries in the order of `documents`; `reader` marks a reader waiting for it."""
        if reader:
            self._readers += 1
            self._no_readers.clear()
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._executor, self.summarizer.summarize_many, list(documents), length
            )
        finally:
            if reader:
                self._readers -= 1
                if not self._readers:
                    self._no_readers.set()

    async def stream(
        self, document: Document, length: SummaryLength, on_text: Callable[[str], None]
    ) -> str:
        """A reader's summary, with `on_text` called on the event loop with the text so far
        each time it grows, where the summarizer can tell (`stream`); returns the summary."""
        stream = getattr(self.summarizer, "stream", None)
        if stream is None:
            return (await self.summarize([document], length, reader=True))[0]
        loop = asyncio.get_running_loop()
        caller = contextvars.copy_context()  # on_text runs as the caller would (its language)

        def run() -> str:
            last = ""
            for text in stream(document, length):
                last = text
                loop.call_soon_threadsafe(on_text, text, context=caller)
            return last

        self._readers += 1
        self._no_readers.clear()
        try:
            return await loop.run_in_executor(self._executor, run)
        finally:
            self._readers -= 1
            if not self._readers:
                self._no_readers.set()

    async def readers_served(self) -> None:
        """Return when no reader waits: background batches go after readers."""
        await self._no_readers.wait()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
