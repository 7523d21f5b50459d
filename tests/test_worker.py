"""`briefbot worker`: the model in its own process, sharing only the database with the bot."""

from __future__ import annotations

import asyncio
import threading
from html import unescape

import pytest

from briefbot.models import Summarizer, load_summarizer
from briefbot.services import Services
from briefbot.worker import run_worker
from tests.conftest import ARTICLE_TEXT, READER_ID, Talk
from tests.tiny_models import build_causal


class WorkerThread:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            self._ready.set()
            await run_worker(self.services, self._stop)

        try:
            self._loop.run_until_complete(main())
        finally:
            self.services.close()

    def start(self) -> WorkerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive()


@pytest.fixture(params=["embedded", "instruct LLM"])
def worker_model(request, summarizer, tmp_path_factory) -> Summarizer:
    if request.param == "embedded":
        return summarizer
    folder = build_causal(tmp_path_factory.mktemp("worker-qwen2"), "qwen2", context=1024)
    return load_summarizer(str(folder))


def test_a_bot_without_a_model_gets_summaries_from_a_worker(
    start_bot, api, settings_factory, worker_model
):
    summarizer = worker_model
    bot = start_bot(summarizer="worker", summary_wait_seconds=1.5)
    assert bot.services.owner is None
    article = bot.services.library.add("Bridge", ARTICLE_TEXT).article
    reader = Talk(api, api.private_chat(READER_ID), READER_ID)

    # No worker yet: the reader is told the summary is being prepared, and the request waits.
    [card] = reader.say("/summary")
    assert "still being prepared" in card.params["text"]

    worker_services = Services.open(settings_factory(), role="worker", summarizer=summarizer)
    worker = WorkerThread(worker_services).start()
    try:
        deadline_reply = None
        for _ in range(20):
            [card] = reader.say("/summary")
            if "still being prepared" not in card.params["text"]:
                deadline_reply = card
                break
        assert deadline_reply is not None, "the worker never made the summary"
        expected = bot.services.library.summary(article.content_hash, summarizer.name, "standard")
        assert expected and expected.split(".")[0] in unescape(deadline_reply.params["text"])
        assert bot.services.summaries.label == summarizer.name  # learnt from the worker
    finally:
        worker.stop()


def test_a_worker_s_instruct_model_writes_in_the_reader_s_language(
    start_bot, api, settings_factory, tmp_path_factory
):
    folder = build_causal(tmp_path_factory.mktemp("worker-qwen2-ru"), "qwen2", context=1024)
    model = load_summarizer(str(folder))
    worker = WorkerThread(Services.open(settings_factory(), role="worker", summarizer=model))
    worker.start()
    try:
        bot = start_bot(summarizer="worker", summary_wait_seconds=1.5)
        text = (
            "El nuevo puente peatonal sobre el río abrió el lunes tras dos años de obras. "
            "Une el casco antiguo con la estación y ahorra diez minutos a pie. "
            "La obra costó a la ciudad unos dos millones de euros. "
            "El ayuntamiento espera que lo crucen cinco mil personas al día."
        )
        article = bot.services.library.add("Puente", text, language="es").article
        api.user_languages[READER_ID] = "ru"
        reader = Talk(api, api.private_chat(READER_ID), READER_ID)
        card = None
        for _ in range(20):
            [card] = reader.say("/summary")
            if "⏳" not in card.params["text"]:
                break
        assert card is not None and "⏳" not in card.params["text"], "no summary from the worker"
        # Made by the worker in the reader's language, as the bot learnt it can.
        library = bot.services.library
        assert library.summary(article.content_hash, model.name, "standard:ru")
        assert "Пересказ на языке статьи" not in card.params["text"]
        assert bot.services.summaries.writes_any_language
    finally:
        worker.stop()
