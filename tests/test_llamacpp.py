"""Instruct LLMs in GGUF files on llama.cpp, through the real loading path, with tiny random
Qwen2 and Llama models written as GGUF here. Skipped where llama-cpp-python is not installed
(`pip install ".[llamacpp]"`), except the test that says how to install it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from briefbot.cli import main
from briefbot.models import Document, ModelLoadError, SummaryLength, load_summarizer
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.sentences import split_sentences
from tests.conftest import ARTICLE_TEXT
from tests.instruct import check_the_bot_serves, eval_file
from tests.tiny_models import build_causal

LONG_ARTICLE = " ".join(
    f"{sentence} This is paragraph {n} of a long report on the town."
    for n in range(6)
    for sentence in split_sentences(ARTICLE_TEXT)
)


def tiny_gguf(folder: Path, architecture: str, *, context: int = 1024, **options) -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    pytest.importorskip("gguf", reason="the gguf package is not installed")
    from tests.gguf_files import write_gguf

    source = build_causal(folder / "hf", architecture, context=context)
    return write_gguf(source, folder / f"tiny-{architecture}.gguf", **options)


@pytest.fixture(scope="session")
def qwen_gguf(tmp_path_factory) -> Path:
    return tiny_gguf(tmp_path_factory.mktemp("gguf-qwen2"), "qwen2")


@pytest.fixture(scope="session")
def llama_gguf(tmp_path_factory) -> Path:
    return tiny_gguf(tmp_path_factory.mktemp("gguf-llama"), "llama")


def test_a_gguf_file_without_llama_cpp_says_how_to_install_it(tmp_path: Path, monkeypatch):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if not installed
    with pytest.raises(ModelLoadError, match=r"pip install '\.\[llamacpp\]'"):
        load_summarizer(str(model))


@pytest.mark.parametrize("architecture", ["qwen2", "llama"])
def test_gguf_files_summarize_with_their_own_chat_template(tmp_path: Path, architecture: str):
    from briefbot.models.llamacpp import LlamaCppSummarizer

    model = load_summarizer(str(tiny_gguf(tmp_path, architecture)))
    assert isinstance(model, LlamaCppSummarizer)
    assert model.name.startswith("gguf:") and "llama.cpp" in model.label
    assert model.max_input_tokens == 1024  # the trained context, not llama.cpp's 4096
    prompt = model.prompt("The bridge opened.", SummaryLength.SHORT)
    assert "in one sentence" in prompt and "The bridge opened." in prompt
    if architecture == "qwen2":
        assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")  # no thinking
    else:
        # The template writes the BOS marker; it is one token, and not added twice.
        bos = int(model.llama.metadata["tokenizer.ggml.bos_token_id"])
        assert model._tokens(prompt, special=True).count(bos) == 1
    summaries = model.summarize_many(
        [Document(ARTICLE_TEXT), Document("The council met. It agreed.")], SummaryLength.STANDARD
    )
    assert len(summaries) == 2 and all(summaries)
    # Greedy by default (a GGUF carries no generation_config): the same answer each time.
    assert model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.STANDARD) == summaries[:1]


def test_a_long_article_is_summarized_window_by_window(tmp_path: Path):
    model = load_summarizer(str(tiny_gguf(tmp_path, "qwen2", context=400)))
    windows = model.windows(LONG_ARTICLE, SummaryLength.SHORT)
    assert len(windows) > 2
    for window in windows:
        prompt = model.prompt(window, SummaryLength.SHORT)
        assert model._count(prompt) + model.new_tokens(SummaryLength.SHORT) <= 400
    [summary] = model.summarize_many([Document(LONG_ARTICLE)], SummaryLength.SHORT)
    assert summary
    assert model.stats.reduce_rounds >= 1


def test_a_summary_streams_and_ends_as_the_whole_answer(qwen_gguf: Path):
    model = load_summarizer(str(qwen_gguf))
    shown = list(model.stream(Document(ARTICLE_TEXT), SummaryLength.STANDARD))
    assert len(shown) >= 2  # it grew while being written
    [whole] = model.summarize_many([Document(ARTICLE_TEXT)], SummaryLength.STANDARD)
    assert shown[-1] == whole


def test_broken_or_plain_gguf_files_fail_clearly(tmp_path: Path, qwen_gguf: Path):
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a model at all" * 100)
    with pytest.raises(ModelLoadError, match="cannot load the GGUF file"):
        load_summarizer(str(garbage))
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_summarizer(str(tmp_path / "missing.gguf"))
    base = tiny_gguf(tmp_path / "base", "qwen2", chat_template=False)
    with pytest.raises(ModelLoadError, match="no chat template"):
        load_summarizer(str(base))
    with pytest.raises(ModelLoadError, match=r"runs on llama\.cpp, not on ctranslate2"):
        load_summarizer(str(qwen_gguf), runtime=RuntimeOptions(engine="ctranslate2"))


def test_pulled_gguf_files_are_found_and_listed(
    tmp_path: Path, qwen_gguf: Path, monkeypatch, capsys
):
    models_dir = tmp_path / "models"
    pulled = models_dir / "Tiny--Qwen2-Instruct-GGUF" / "tiny-q.gguf"
    pulled.parent.mkdir(parents=True)
    pulled.write_bytes(qwen_gguf.read_bytes())
    model = load_summarizer("Tiny/Qwen2-Instruct-GGUF/tiny-q.gguf", models_dir=models_dir)
    assert model.name.startswith("gguf:Tiny/Qwen2-Instruct-GGUF/tiny-q.gguf/")
    with pytest.raises(ModelLoadError, match=r"briefbot models pull Tiny/Other-GGUF x\.gguf"):
        load_summarizer("Tiny/Other-GGUF/x.gguf", models_dir=models_dir)

    monkeypatch.setenv("BRIEFBOT_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("BRIEFBOT_MODEL", "Tiny/Qwen2-Instruct-GGUF/tiny-q.gguf")
    assert main(["models", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "tiny-q.gguf" in x)
    assert line.startswith("* Tiny/Qwen2-Instruct-GGUF/tiny-q.gguf")
    assert "GGUF causal LM, qwen2 F32" in line and "runs on llama.cpp" in line
    # Pulling needs the hub; unreachable here, the last line says so (after the hub
    # library's own warnings).
    assert main(["models", "pull", "Tiny/Other-GGUF", "other.gguf"]) != 0
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("briefbot: cannot download other.gguf of 'Tiny/Other-GGUF'")
    assert main(["models", "pull", "Tiny/Other-GGUF", "other.bin"]) != 0
    assert "FILE.gguf" in capsys.readouterr().err


@pytest.mark.slow
def test_the_bot_serves_a_gguf_model(start_bot, api, llama_gguf: Path):
    check_the_bot_serves(start_bot, api, load_summarizer(str(llama_gguf)))


def test_eval_runs_a_gguf_model(tmp_path: Path, qwen_gguf: Path, capsys):
    data = eval_file(tmp_path)
    assert main(["eval", str(data), "--model", str(qwen_gguf), "--length", "short"]) == 0
    out = capsys.readouterr().out
    assert "llama.cpp" in out and "test" in out
