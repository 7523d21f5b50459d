"""`briefbot worker`: only the summarization queue, next to bots that run no model.

It shares nothing with the Telegram side but the database: it computes the summaries readers
asked for (queued by instances with BRIEFBOT_SUMMARIZER=worker) and the ones new articles need,
and advertises its model so those instances know which cached summaries to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from briefbot.articles import StoreError
from briefbot.bot.services import BotServices

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0


async def _heartbeat(services: BotServices) -> None:
    interval = max(1.0, services.store.instances.lease.total_seconds() / 3)
    while True:
        await asyncio.sleep(interval)
        try:
            services.store.instances.heartbeat()
        except StoreError as exc:
            logger.error("Heartbeat failed: %s", exc)


async def run_worker(services: BotServices, stop: asyncio.Event | None = None) -> None:
    precomputer = services.precomputer
    assert precomputer is not None, "a worker runs the model"
    # Requests arrive through the database, so look for them often.
    precomputer.idle_seconds = POLL_SECONDS
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    logger.info(
        "Worker %s serving model %s", services.store.instances.id, services.summaries.model_name
    )
    tasks = [
        asyncio.create_task(precomputer.run_forever(), name="summaries"),
        asyncio.create_task(_heartbeat(services), name="heartbeat"),
    ]
    try:
        await stop.wait()
    finally:
        logger.info("Worker stopping after %d summaries", precomputer.done)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        services.close()
