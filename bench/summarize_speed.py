"""Summarization speed: the naive way, one article at a time, vs Briefbot's batched path.

    python bench/summarize_speed.py [--articles 8] [--batch-size 8] [--device cpu]
    python bench/summarize_speed.py --model qwen2.5-0.5b [--articles 4] [--device cuda]

The default model has distilbart-cnn-12-6's shape with random weights (speed does not depend
on the weights, and nothing can be downloaded here); every article is cut to 512 input tokens
and every summary is exactly 128 tokens, beam search 4, for both paths.

`--model qwen2.5-0.5b` or `qwen2.5-1.5b`: an instruct LLM with that architecture (Qwen2,
random weights, a ChatML template), 1,024 article tokens in and exactly 96 out, greedy: the
naive per-article `generate` against Briefbot's batched path (left-padded, length-sorted),
with the time to the first token of one article (naive prefill, and Briefbot's stream);
then llama.cpp on the same weights as Q8_0 and Q4_K_M GGUF files (written with the `gguf`
package, quantized by llama.cpp) and CTranslate2 int8, where installed.

Each variant runs in its own process so its peak memory (max RSS; on CUDA, the most the GPU
held) is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "news-dev.jsonl"
VOCAB = 50_264
INPUT_TOKENS = 512
OUTPUT_TOKENS = 128
BEAMS = 4


def build_model(folder: Path) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
    vocab |= {f"w{i}": i for i in range(4, VOCAB)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=1024,
    )
    torch.manual_seed(0)
    config = BartConfig(  # sshleifer/distilbart-cnn-12-6
        vocab_size=VOCAB,
        d_model=1024,
        encoder_layers=12,
        decoder_layers=6,
        encoder_attention_heads=16,
        decoder_attention_heads=16,
        encoder_ffn_dim=4096,
        decoder_ffn_dim=4096,
        max_position_embeddings=1024,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    BartForConditionalGeneration(config).save_pretrained(folder)
    fast.save_pretrained(folder)


QWEN_SHAPES = {  # from the models' config.json
    "qwen2.5-0.5b": dict(
        hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, tie_word_embeddings=True,
    ),
    "qwen2.5-1.5b": dict(
        hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
        num_attention_heads=12, num_key_value_heads=2, tie_word_embeddings=True,
    ),
}  # fmt: skip
QWEN_VOCAB = 151_936
LLM_INPUT_TOKENS = 1024
LLM_OUTPUT_TOKENS = 96
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_llm(folder: Path, shape: str, dtype: str) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        GenerationConfig,
        PreTrainedTokenizerFast,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    # A byte-level BPE like Qwen's (transformers loads any qwen2 model's tokenizer as one):
    # the byte alphabet, so any text has tokens, and space-led filler words "Ġw<n>" that
    # decode with their spaces, so generated text streams word by word.
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab = {token: i for i, token in enumerate(special)}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    filler = 0
    while len(vocab) < QWEN_VOCAB:
        vocab[f"Ġw{filler}"] = len(vocab)
        filler += 1
    tokenizer = Tokenizer(models.BPE(vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=special[1:3],
        model_max_length=32_768,
    )
    fast.chat_template = CHATML
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=QWEN_VOCAB,
        max_position_embeddings=32_768,
        eos_token_id=2,
        pad_token_id=0,
        **QWEN_SHAPES[shape],
    )
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = Qwen2ForCausalLM(config).to(getattr(torch, dtype))
    # Random weights favour some tokens; special ones and stray bytes would leave nothing
    # to show, so the model writes filler words only.
    model.generation_config = GenerationConfig(
        do_sample=False, eos_token_id=2, pad_token_id=0, suppress_tokens=list(range(0, 259))
    )
    model.save_pretrained(folder)
    fast.save_pretrained(folder)


def llm_articles(count: int) -> list[str]:
    """Articles of LLM_INPUT_TOKENS tokens each: words of digits, one token a character and
    one for the space before each (the prompt's own instructions add about 200)."""
    texts = []
    for n in range(count):
        words, tokens = [], 0
        while tokens < LLM_INPUT_TOKENS:
            word = f"w{(n * 104_729 + len(words) * 7_919) % 100_000}"
            words.append(word)
            tokens += len(word) + 1
        texts.append(" ".join(words))
    return texts


def _peak_mb(device: str) -> float:
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    # VmHWM, not ru_maxrss: a spawned process's ru_maxrss starts at its parent's peak.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_llm_naive(folder: str, texts: list[str], device: str, dtype: str, queue) -> None:
    """One article per `generate` call, the way a model card shows it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from briefbot.models import SummaryLength
    from briefbot.models.causal import prompt_text

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device)
    model.eval()

    def inputs(text: str):
        messages = [{"role": "user", "content": prompt_text(text, SummaryLength.STANDARD)}]
        return tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(device)

    def generate(text: str, tokens: int) -> None:
        with torch.no_grad():
            model.generate(
                **inputs(text), min_new_tokens=tokens, max_new_tokens=tokens, do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )  # fmt: skip

    generate(texts[0], 1)  # warm-up
    started = time.perf_counter()
    generate(texts[0], 1)
    first_token = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        generate(text, LLM_OUTPUT_TOKENS)
    if device == "cuda":
        torch.cuda.synchronize()
    queue.put((time.perf_counter() - started, _peak_mb(device) * 1024, first_token))


def run_llm_briefbot(
    folder: str, texts: list[str], device: str, dtype: str, batch: int, queue
) -> None:
    from briefbot.models import Document, SummaryLength
    from briefbot.models.causal import CausalSummarizer
    from briefbot.models.runtime import RuntimeOptions
    from briefbot.models.seq2seq import GenerationOptions

    model = CausalSummarizer.load(
        folder,
        runtime=RuntimeOptions(device=device, dtype=dtype, batch_size=batch),  # type: ignore[arg-type]
        generation=GenerationOptions(
            min_new_tokens=LLM_OUTPUT_TOKENS, max_new_tokens=LLM_OUTPUT_TOKENS
        ),
    )
    model.summarize_many([Document(texts[0])], SummaryLength.SHORT)  # warm-up
    started = time.perf_counter()
    next(iter(model.stream(Document(texts[0]), SummaryLength.STANDARD)))
    first_token = time.perf_counter() - started
    started = time.perf_counter()
    model.summarize_many([Document(t) for t in texts], SummaryLength.STANDARD)
    queue.put((time.perf_counter() - started, _peak_mb(device) * 1024, first_token))


def run_llm_ct2(folder: str, texts: list[str], device: str, batch: int, queue) -> None:
    from briefbot.models.ct2 import CTranslate2CausalSummarizer
    from briefbot.models.runtime import RuntimeOptions
    from briefbot.models.seq2seq import GenerationOptions

    model = CTranslate2CausalSummarizer.load_converted(
        Path(folder),
        Path(folder).parent,
        source="bench",
        runtime=RuntimeOptions(device=device, quantize=True, batch_size=batch),  # type: ignore[arg-type]
        generation=GenerationOptions(
            min_new_tokens=LLM_OUTPUT_TOKENS, max_new_tokens=LLM_OUTPUT_TOKENS
        ),
    )

    time_untuned(model, texts, device, queue)


def run_llm_llamacpp(path: str, texts: list[str], device: str, queue) -> None:
    from briefbot.models.llamacpp import LlamaCppSummarizer
    from briefbot.models.runtime import RuntimeOptions
    from briefbot.models.seq2seq import GenerationOptions

    model = LlamaCppSummarizer.load(
        Path(path),
        runtime=RuntimeOptions(device=device),  # type: ignore[arg-type]
        generation=GenerationOptions(
            min_new_tokens=LLM_OUTPUT_TOKENS, max_new_tokens=LLM_OUTPUT_TOKENS
        ),
    )

    time_untuned(model, texts, "cpu", queue)


def time_untuned(model, texts: list[str], device: str, queue) -> None:
    """Warm-up, the stream's first words and the whole batch, for a runtime that does not
    read generation_config's suppress_tokens (CTranslate2, llama.cpp): the random weights
    may then write only special tokens and bytes, an answer that is timed all the same
    (and the stream shows nothing: first token nan)."""
    from briefbot.models import Document, SummaryLength
    from briefbot.models.windowed import ModelAnswerError

    def summarize(documents: list[Document], length: SummaryLength) -> None:
        with contextlib.suppress(ModelAnswerError):
            model.summarize_many(documents, length)

    summarize([Document(texts[0])], SummaryLength.SHORT)  # warm-up; conversion is not timed
    started = time.perf_counter()
    first_token = float("nan")
    with contextlib.suppress(ModelAnswerError, StopIteration):
        next(iter(model.stream(Document(texts[0]), SummaryLength.STANDARD)))
        first_token = time.perf_counter() - started
    started = time.perf_counter()
    summarize([Document(t) for t in texts], SummaryLength.STANDARD)
    queue.put((time.perf_counter() - started, _peak_mb(device) * 1024, first_token))


def llamacpp_rows(folder: str, texts: list[str], device: str, naive_seconds: float) -> None:
    """llama.cpp on GGUF files written from the same weights: F16, then Q8_0 and Q4_K_M by
    llama.cpp's own quantizer (conversion is not timed)."""
    from tests.gguf_files import quantize, write_gguf

    half = write_gguf(Path(folder), Path(f"{folder}-f16.gguf"), half=True)
    for kind in ("Q8_0", "Q4_K_M"):
        path = quantize(half, Path(f"{folder}-{kind}.gguf"), kind)
        mine = measure_llm(run_llm_llamacpp, str(path), texts, device)
        print(
            f"briefbot llama.cpp {kind} ({path.stat().st_size / 2**20:.0f} MB file): "
            f"{len(texts) / mine[0]:.3f} articles/s, first token (stream) {mine[2]:.2f} s, "
            f"peak {mine[1]:.0f} MB, {naive_seconds / mine[0]:.2f}x naive"
        )
        path.unlink()


def llm_main(args: argparse.Namespace) -> None:
    dtype = "bfloat16" if args.device == "cuda" else "float32"
    texts = llm_articles(args.articles)
    with tempfile.TemporaryDirectory() as workspace:
        folder = str(Path(workspace) / args.model)
        build_llm(Path(folder), args.model, dtype)
        print(
            f"{len(texts)} articles, {LLM_INPUT_TOKENS} tokens in, {LLM_OUTPUT_TOKENS} out, "
            f"greedy, {args.model} architecture (random weights), {dtype}, device {args.device}"
        )
        naive = measure_llm(run_llm_naive, folder, texts, args.device, dtype)
        print(
            f"naive, one generate per article: {len(texts) / naive[0]:.3f} articles/s, "
            f"first token {naive[2]:.2f} s, peak {naive[1]:.0f} MB"
        )
        for batch in args.batch_size_llm:
            mine = measure_llm(run_llm_briefbot, folder, texts, args.device, dtype, batch)
            print(
                f"briefbot batched, batch {batch}: {len(texts) / mine[0]:.3f} articles/s, "
                f"first token (stream) {mine[2]:.2f} s, peak {mine[1]:.0f} MB, "
                f"{naive[0] / mine[0]:.2f}x naive"
            )
        if importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("gguf"):
            llamacpp_rows(folder, texts, args.device, naive[0])
        else:
            print("llama-cpp-python or gguf is not installed: llama.cpp was not measured")
        if importlib.util.find_spec("ctranslate2") is None:
            print("ctranslate2 is not installed: its runtime was not measured")
            return
        for batch in args.batch_size_llm:
            mine = measure_llm(run_llm_ct2, folder, texts, args.device, batch)
            print(
                f"briefbot ctranslate2 int8, batch {batch}: {len(texts) / mine[0]:.3f} "
                f"articles/s, first token (stream) {mine[2]:.2f} s, peak {mine[1]:.0f} MB, "
                f"{naive[0] / mine[0]:.2f}x naive"
            )


def measure_llm(target, *args) -> tuple[float, float, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    try:
        seconds, peak_kb, first_token = queue.get(timeout=3600)
    except Exception:
        process.kill()
        raise SystemExit(f"{target.__name__} failed; see its traceback above") from None
    process.join()
    return seconds, peak_kb / 1024, first_token


def articles(count: int) -> list[str]:
    if DATA.exists():
        rows = [json.loads(x) for x in DATA.read_text().splitlines()[:count]]
        texts = [r["text"] for r in rows]
    else:
        texts = ["The council met on Tuesday to discuss the new bridge. " * 80] * count
    # Vocabulary words, so every article is exactly INPUT_TOKENS tokens long.
    return [
        " ".join(
            f"w{4 + (len(w) * 7919 + i) % (VOCAB - 4)}"
            for i, w in enumerate(t.split()[: INPUT_TOKENS - 2])
        )
        for t in texts
    ]


def run_naive(folder: str, texts: list[str], device: str, queue) -> None:
    """What pipeline("summarization") did, one article per call. transformers 5 removed that
    pipeline, so its steps are spelled out: tokenize with truncation, generate, decode."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder).to(device).eval()
    started = time.perf_counter()
    for text in texts:
        inputs = tokenizer(text, truncation=True, max_length=1024, return_tensors="pt").to(device)
        with torch.no_grad():
            output = model.generate(
                **inputs,
                num_beams=BEAMS,
                min_new_tokens=OUTPUT_TOKENS,
                max_new_tokens=OUTPUT_TOKENS,
                early_stopping=True,
            )
        tokenizer.batch_decode(output, skip_special_tokens=True)
    queue.put((time.perf_counter() - started, _peak_mb("cpu") * 1024))


def run_ct2(folder: str, texts: list[str], device: str, batch: int, quantize: bool, queue) -> None:
    from briefbot.models import Document, SummaryLength
    from briefbot.models.ct2 import CTranslate2Summarizer
    from briefbot.models.runtime import RuntimeOptions
    from briefbot.models.seq2seq import GenerationOptions

    model = CTranslate2Summarizer.load_converted(
        Path(folder),
        Path(folder).parent,
        source="bench",
        runtime=RuntimeOptions(
            device=device, quantize=quantize, batch_size=batch, engine="ctranslate2"
        ),
        generation=GenerationOptions(
            num_beams=BEAMS, min_length=OUTPUT_TOKENS, max_length=OUTPUT_TOKENS
        ),
    )
    started = time.perf_counter()  # conversion, done once per model, is not timed
    model.summarize_many([Document(t) for t in texts], SummaryLength.STANDARD)
    queue.put((time.perf_counter() - started, _peak_mb("cpu") * 1024))


def run_briefbot(
    folder: str, texts: list[str], device: str, batch: int, dtype: str, quantize: bool, queue
) -> None:
    from briefbot.models import Document, SummaryLength
    from briefbot.models.runtime import RuntimeOptions
    from briefbot.models.seq2seq import GenerationOptions, Seq2SeqSummarizer

    model = Seq2SeqSummarizer.load(
        folder,
        runtime=RuntimeOptions(device=device, dtype=dtype, quantize=quantize, batch_size=batch),
        generation=GenerationOptions(
            num_beams=BEAMS,
            min_length=OUTPUT_TOKENS + 1,
            max_length=OUTPUT_TOKENS + 1,
            early_stopping=True,
        ),
    )
    started = time.perf_counter()
    model.summarize_many([Document(t) for t in texts], SummaryLength.STANDARD)
    queue.put((time.perf_counter() - started, _peak_mb("cpu") * 1024))


def measure(target, *args) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    try:
        seconds, max_rss_kb = queue.get(timeout=3600)
    except Exception:
        process.kill()
        raise SystemExit(f"{target.__name__} failed; see its traceback above") from None
    process.join()
    return seconds, max_rss_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model", default="distilbart", choices=["distilbart", *QWEN_SHAPES])
    parser.add_argument(
        "--batch-size-llm", type=int, nargs="+", default=[8], help="batch sizes for an LLM"
    )
    args = parser.parse_args()
    if args.model != "distilbart":
        llm_main(args)
        return
    texts = articles(args.articles)
    with tempfile.TemporaryDirectory() as workspace:
        folder = str(Path(workspace) / "distilbart-shape")
        build_model(Path(folder))
        print(
            f"{len(texts)} articles, {INPUT_TOKENS} tokens in, {OUTPUT_TOKENS} out, "
            f"beam {BEAMS}, distilbart-cnn-12-6 shape, device {args.device}"
        )
        naive_s, naive_mb = measure(run_naive, folder, texts, args.device)
        naive_rate = len(texts) / naive_s
        print(
            f"naive (pipeline steps), one at a time, fp32: {naive_rate:.3f} articles/s, "
            f"peak {naive_mb:.0f} MB"
        )
        variants = [("batched fp32", "float32", False)]
        if args.device == "cpu":
            variants.append(("batched int8 (BRIEFBOT_QUANTIZE)", "float32", True))
        else:
            variants.append(("batched bf16", "bfloat16", False))
        for label, dtype, quantize in variants:
            seconds, mb = measure(
                run_briefbot, folder, texts, args.device, args.batch_size, dtype, quantize
            )
            rate = len(texts) / seconds
            print(
                f"briefbot {label}, batch {args.batch_size}: {rate:.3f} articles/s, "
                f"peak {mb:.0f} MB, {rate / naive_rate:.2f}x naive"
            )
        if importlib.util.find_spec("ctranslate2") is None:
            print("ctranslate2 is not installed: its runtime was not measured")
            return
        for label, quantize in (("ctranslate2 float", False), ("ctranslate2 int8", True)):
            seconds, mb = measure(run_ct2, folder, texts, args.device, args.batch_size, quantize)
            rate = len(texts) / seconds
            print(
                f"briefbot {label} (BRIEFBOT_RUNTIME=ctranslate2), batch {args.batch_size}: "
                f"{rate:.3f} articles/s, peak {mb:.0f} MB, {rate / naive_rate:.2f}x naive"
            )


if __name__ == "__main__":
    main()
