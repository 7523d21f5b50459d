"""`briefbot worker`: only the summarization queue, next to bots that run no model.

It shares nothing with the Telegram side but the database: it makes the summaries readers
asked for (queued by instances with BRIEFBOT_SUMMARIZER=worker) and the ones new articles need,
and advertises its model so those instances know which cached summaries to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from briefbot.database import StoreError
from briefbot.services import Services

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0


async def _heartbeat(services: Services) -> None:
    interval = max(1.0, services.instances.lease.total_seconds() / 3)
    while True:
        await asyncio.sleep(interval)
        try:
            await services.db.run(services.instances.heartbeat)
        except StoreError as exc:
            logger.error("Heartbeat failed: %s", exc)


async def run_worker(services: Services, stop: asyncio.Event | None = None) -> None:
    background = services.background
    if background is None:
        raise RuntimeError("a worker runs the model")
    # Requests arrive through the database, so look for them often.
    background.idle_seconds = POLL_SECONDS
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    logger.info("Worker %s serving model %s", services.instances.id, services.summaries.label)
    tasks = [
        asyncio.create_task(background.run_forever(), name="summaries"),
        asyncio.create_task(_heartbeat(services), name="heartbeat"),
    ]
    try:
        await stop.wait()
    finally:
        logger.info("Worker stopping after %d summaries", background.done)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
