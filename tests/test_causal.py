"""Instruct LLMs (causal LMs with a chat template) through the real loading path, with tiny
random Qwen2 and Llama models built here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from briefbot.cli import main
from briefbot.models import Document, ModelLoadError, SummaryLength, load_summarizer
from briefbot.models.causal import CausalSummarizer, clean_summary
from briefbot.models.registry import local_models
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.sentences import split_sentences
from briefbot.models.seq2seq import GenerationOptions
from tests.conftest import ARTICLE_TEXT
from tests.instruct import check_the_bot_serves, eval_file
from tests.tiny_models import build_causal

LONG_ARTICLE = " ".join(
    f"{sentence} This is paragraph {n} of a long report on the town."
    for n in range(6)
    for sentence in split_sentences(ARTICLE_TEXT)
)


@pytest.fixture(scope="session")
def qwen_folder(tmp_path_factory) -> Path:
    return build_causal(tmp_path_factory.mktemp("tiny-qwen2"), "qwen2", context=1024)


@pytest.fixture(scope="session")
def llama_folder(tmp_path_factory) -> Path:
    return build_causal(tmp_path_factory.mktemp("tiny-llama"), "llama", context=1024)


@pytest.fixture(scope="session")
def small_context_folder(tmp_path_factory) -> Path:
    return build_causal(tmp_path_factory.mktemp("tiny-qwen2-small"), "qwen2", context=400)


# -- what is kept of an answer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "sentences", "expected"),
    [
        # A thinking model that thought anyway, and one cut off while thinking.
        (
            "<think>The user wants one sentence.</think>\n\nThe bridge opened on Monday.",
            1,
            "The bridge opened on Monday.",
        ),
        ("<think>Let me see, the article says", 3, ""),
        # Preambles and headings.
        (
            "Sure! Here is a summary of the article:\n\nThe bridge opened. It cost $2m.",
            3,
            "The bridge opened. It cost $2m.",
        ),
        ("**Summary:** The bridge opened.", 3, "The bridge opened."),
        ("Here's a one-sentence summary: The bridge opened.", 1, "The bridge opened."),
        (
            "## Summary\n- The bridge opened.\n- It cost $2m.",
            3,
            "The bridge opened. It cost $2m.",
        ),
        # Template tokens that decoding left in.
        ("The bridge opened.<|im_end|>\n<|im_start|>user", 3, "The bridge opened."),
        ("[INST] The bridge opened.<|eot_id|>", 3, "The bridge opened."),
        # Whole sentences, at most the number asked for.
        ("One. Two. Three. Four.", 3, "One. Two. Three."),
        ("The bridge opened on Monday. Residents said the", 3, "The bridge opened on Monday."),
        ("An answer cut off without any full stop", 3, "An answer cut off without any full stop"),
    ],
)
def test_answers_are_cleaned_to_whole_sentences(answer: str, sentences: int, expected: str):
    assert clean_summary(answer, sentences) == expected


# -- loading, prompts and generation --------------------------------------------------------


def test_causal_models_are_detected_from_their_config(qwen_folder, llama_folder):
    qwen = load_summarizer(str(qwen_folder))
    llama = load_summarizer(str(llama_folder))
    assert isinstance(qwen, CausalSummarizer) and isinstance(llama, CausalSummarizer)
    assert qwen.tokenizer.padding_side == "left"
    assert "(transformers, cpu/float32)" in qwen.label
    # Settings come from the model's generation_config: greedy, so no sampling settings.
    assert qwen.generation == {"do_sample": False, "repetition_penalty": 1.5, "min_new_tokens": 6}
    tuned = load_summarizer(
        str(qwen_folder), generation=GenerationOptions(max_new_tokens=40, repetition_penalty=1.2)
    )
    assert tuned.generation["repetition_penalty"] == 1.2
    assert tuned.new_tokens(SummaryLength.STANDARD) == 40
    assert tuned.new_tokens(SummaryLength.SHORT) < 40 < tuned.new_tokens(SummaryLength.LONG)
    assert len({qwen.name, llama.name, tuned.name}) == 3


def test_prompts_use_the_chat_template_with_thinking_off(qwen_folder, llama_folder):
    qwen = load_summarizer(str(qwen_folder))
    llama = load_summarizer(str(llama_folder))
    assert isinstance(qwen, CausalSummarizer) and isinstance(llama, CausalSummarizer)
    prompt = qwen.prompt("The bridge opened.", SummaryLength.SHORT)
    assert prompt.startswith("<|im_start|>user\nSummarize this news article in one sentence.")
    assert "in the language of the article" in prompt
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    prompt = llama.prompt("The bridge opened.", SummaryLength.LONG)
    assert "in five sentences" in prompt
    assert prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert "in three sentences" in llama.prompt("x", SummaryLength.STANDARD)


def test_summaries_come_from_the_model_and_batches_keep_order(qwen_folder):
    model = CausalSummarizer.load(qwen_folder, runtime=RuntimeOptions(batch_size=2))
    documents = [Document(f"{ARTICLE_TEXT[: 60 + 40 * n]}.") for n in range(5)]
    together = model.summarize_many(documents, SummaryLength.SHORT)
    assert model.stats.batches == [2, 2, 1]
    assert all(together)
    # Left padding: an article batched with longer ones gets the summary it gets alone.
    alone = [model.summarize_many([d], SummaryLength.SHORT)[0] for d in documents]
    assert together == alone


def test_a_long_article_is_summarized_window_by_window(small_context_folder):
    model = load_summarizer(str(small_context_folder))
    assert isinstance(model, CausalSummarizer)
    windows = model.windows(LONG_ARTICLE, SummaryLength.SHORT)
    assert len(windows) > 2
    new_tokens = model.new_tokens(SummaryLength.SHORT)
    for window in windows:
        assert model._count(model.prompt(window, SummaryLength.SHORT)) + new_tokens <= 400
    assert " ".join(windows).split() == " ".join(split_sentences(LONG_ARTICLE)).split()
    [summary] = model.summarize_many([Document(LONG_ARTICLE)], SummaryLength.SHORT)
    assert summary
    assert model.stats.reduce_rounds >= 1


def test_models_without_a_chat_template_or_runtime_fail_clearly(qwen_folder, tmp_path: Path):
    plain = tmp_path / "base-model"
    shutil.copytree(qwen_folder, plain)
    (plain / "chat_template.jinja").unlink()
    with pytest.raises(ModelLoadError, match="no chat template"):
        load_summarizer(str(plain))
    with pytest.raises(ModelLoadError, match="models pull Some/Model"):
        load_summarizer("Some/Model", runtime=RuntimeOptions(engine="ctranslate2"))


def test_pulled_causal_models_are_listed_with_their_kind(
    tmp_path: Path, qwen_folder, monkeypatch, capsys
):
    models_dir = tmp_path / "models"
    shutil.copytree(qwen_folder, models_dir / "Tiny--Qwen2-Instruct")
    monkeypatch.setenv("BRIEFBOT_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("BRIEFBOT_MODEL", "Tiny/Qwen2-Instruct")
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "* Tiny/Qwen2-Instruct" in listing and "causal LM, Qwen2ForCausalLM" in listing
    assert "runs on transformers (" in listing
    model = load_summarizer("Tiny/Qwen2-Instruct", models_dir=models_dir)
    assert model.name.startswith("hf:Tiny/Qwen2-Instruct/")


# -- through the product ----------------------------------------------------------------


@pytest.mark.slow
def test_the_bot_serves_an_instruct_model(start_bot, api, llama_folder):
    check_the_bot_serves(start_bot, api, load_summarizer(str(llama_folder)))


@pytest.mark.slow
def test_eval_runs_an_instruct_model(tmp_path: Path, qwen_folder, capsys):
    data = eval_file(tmp_path)
    assert main(["eval", str(data), "--model", str(qwen_folder), "--length", "short"]) == 0
    out = capsys.readouterr().out
    assert "test" in out and "3" in out and "(transformers" in out


@pytest.mark.slow
def test_eval_runs_an_instruct_model_on_ctranslate2(
    tmp_path: Path, qwen_folder, monkeypatch, capsys
):
    data = eval_file(tmp_path, count=1)
    monkeypatch.setenv("BRIEFBOT_RUNTIME", "ctranslate2")
    monkeypatch.setenv("BRIEFBOT_QUANTIZE", "1")
    monkeypatch.setenv("BRIEFBOT_MODELS_DIR", str(tmp_path / "models"))
    assert main(["eval", str(data), "--model", str(qwen_folder), "--length", "short"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the table's title wraps
    assert "(CTranslate2, int8)" in out


def test_an_answer_being_written_keeps_its_last_words_and_holds_back_a_preamble():
    assert clean_summary("Here is a summ", 3, partial=True) == ""
    assert clean_summary("Here is a summary:\n\nThe bridge", 3, partial=True) == "The bridge"
    assert clean_summary("The bridge opened. Residents", 3, partial=True) == (
        "The bridge opened. Residents"
    )
    assert clean_summary("<think>Let me", 3, partial=True) == ""


def test_a_summary_streams_as_the_model_writes_it(qwen_folder):
    model = load_summarizer(str(qwen_folder))
    assert isinstance(model, CausalSummarizer)
    shown = list(model.stream(Document(ARTICLE_TEXT), SummaryLength.SHORT))
    assert len(shown) > 2
    [whole] = model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)
    assert shown[-1] == whole
    # A long article streams nothing but its summary.
    assert len(list(model.stream(Document(LONG_ARTICLE * 3), SummaryLength.SHORT))) == 1


@pytest.mark.parametrize("architecture", ["qwen2", "llama"])
def test_ctranslate2_runs_decoder_only_models(tmp_path: Path, architecture: str):
    from briefbot.models.ct2 import CTranslate2CausalSummarizer

    folder = build_causal(tmp_path / architecture, architecture, context=1024)
    runtime = RuntimeOptions(engine="ctranslate2", quantize=True, batch_size=2)
    model = load_summarizer(str(folder), models_dir=tmp_path / "models", runtime=runtime)
    assert isinstance(model, CTranslate2CausalSummarizer)
    assert model.name.startswith("ct2-int8:") and "(CTranslate2, int8)" in model.label
    assert (tmp_path / "models" / f"{architecture}.ct2-lm-int8" / "model.bin").is_file()
    documents = [Document(f"{ARTICLE_TEXT[: 80 + 60 * n]}.") for n in range(3)]
    together = model.summarize_many(documents, SummaryLength.SHORT)
    assert all(together) and model.stats.batches == [3]
    alone = [model.summarize_many([d], SummaryLength.SHORT)[0] for d in documents]
    # Order kept; int8 kernels round a padded batch a little differently, which random
    # weights turn into other words after a while.
    assert [t[:20] for t in together] == [a[:20] for a in alone]
    shown = list(model.stream(Document(ARTICLE_TEXT), SummaryLength.SHORT))
    assert len(shown) > 1
    assert shown[-1] == model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)[0]
    # Converted once: loading again reuses the converted folder, which `models list` shows
    # with its source.
    again = load_summarizer(str(folder), models_dir=tmp_path / "models", runtime=runtime)
    assert again.name == model.name
    shutil.copytree(folder, tmp_path / "models" / architecture)
    [listed] = local_models(tmp_path / "models")
    assert listed.converted == ("int8",) and "ctranslate2 int8" in listed.describe()
    # A minimum answer length above a short summary's maximum is capped, not an error.
    capped = load_summarizer(
        str(folder),
        models_dir=tmp_path / "models",
        runtime=runtime,
        generation=GenerationOptions(max_new_tokens=8, min_new_tokens=20),
    )
    assert capped.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.SHORT)[0]
