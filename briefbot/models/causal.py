"""Summaries from an instruct LLM (a Hugging Face causal LM with a chat template: Qwen, Llama,
Gemma, Phi, SmolLM, Mistral...), window by window for long articles (`windowed.py`).

One prompt per length asks for that many sentences, in the article's own language or in the
one asked for (a reader's); the answer
is cleaned (no preamble, no thinking, no template tokens, whole sentences, at most the number
asked for). Batches are left-padded and sorted by length.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from briefbot.models.base import Document, ModelLoadError, SummaryLength
from briefbot.models.runtime import Placement, RuntimeOptions, load_pretrained
from briefbot.models.sentences import split_sentences
from briefbot.models.seq2seq import GenerationOptions
from briefbot.models.windowed import ModelAnswerError, WindowedSummarizer, input_limit

logger = logging.getLogger(__name__)

# Changing a prompt changes every summary: it is part of the cache key.
PROMPT_VERSION = 1
# Longer contexts cost memory and time that a summary of one news article does not need.
MAX_CONTEXT_TOKENS = 4096
# Read from the model's generation_config (BRIEFBOT_GENERATION overrides each); the number of
# new tokens follows the length asked for.
MODEL_KEYS = ("do_sample", "temperature", "top_p", "top_k", "repetition_penalty", "min_new_tokens")
SAMPLING_KEYS = ("temperature", "top_p", "top_k")
NEW_TOKENS = {SummaryLength.SHORT: 64, SummaryLength.STANDARD: 160, SummaryLength.LONG: 288}
_COUNT_WORDS = {1: "one sentence", 3: "three sentences", 5: "five sentences"}


def english_name(language: str) -> str:
    """'pt' as 'Portuguese': the name a prompt asks for a language by."""
    try:
        return Locale.parse(language).get_display_name("en") or language
    except (UnknownLocaleError, ValueError):
        return language


def prompt_text(text: str, length: SummaryLength, language: str | None = None) -> str:
    """The request: `language` (ISO 639-1) is the one to write in, None for the article's."""
    wanted = _COUNT_WORDS.get(length.sentences, f"{length.sentences} sentences")
    if language:
        written_in = f"Write in {english_name(language)}, whatever the article's language. "
    else:
        written_in = "Write in the language of the article. "
    return (
        f"Summarize this news article in {wanted}. {written_in}"
        "Reply with the summary only: no title, no introduction, no list.\n\n"
        f"{text.strip()}"
    )


_THINKING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_UNFINISHED_THINKING = re.compile(r"<(think|thinking|reasoning)>.*", re.DOTALL | re.IGNORECASE)
_TEMPLATE_TOKENS = re.compile(
    r"<\|[^|<>]{1,40}\|>|</?s>|\[/?INST\]|<(start|end)_of_turn>|</?(think|thinking|reasoning)>",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|okay|ok|certainly|of course)\b[^.!:\n]*[.!:]\s*)?"
    r"(?:(?:here(?:'s| is| are)|below is|this is)\b[^:\n]{0,80}:\s*"
    r"|(?:\*\*)?(?:summary|tl;?dr)(?:\*\*)?\s*:\s*(?:\*\*)?\s*)?",
    re.IGNORECASE,
)
# While an answer is being written, its start may be a preamble still without its colon.
_MAYBE_PREAMBLE = re.compile(
    r"^\s*(?:\*\*|#|here|sure|okay|ok\b|certainly|of course|below|this is|summary|tl;?dr)",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s*#+\s.*$", re.MULTILINE)
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?…。！？]['\"”’)\]]*$")


def clean_summary(
    raw: str, sentences: int, *, partial: bool = False, language: str | None = None
) -> str:
    """The summary in a model's answer: thinking blocks, template tokens, a preamble ("Here
    is a summary:") and list or heading marks removed; whole sentences, at most `sentences`.
    A cut-off last sentence is dropped when a whole one comes before it, unless the answer
    is `partial` (still being written)."""
    text = _UNFINISHED_THINKING.sub("", _THINKING.sub("", raw))
    text = _TEMPLATE_TOKENS.sub(" ", text)
    if (
        partial
        and _MAYBE_PREAMBLE.match(text)
        and len(text) < 120
        and not re.search(r"[:\n]", text.strip())
    ):
        return ""
    text = _PREAMBLE.sub("", text.strip(), count=1)
    text = _LIST_MARK.sub("", _HEADING.sub("", text)).replace("**", "").replace("__", "")
    found = split_sentences(text, language)
    whole = [s for s in found if _SENTENCE_END.search(s)]
    if whole and not partial and not _SENTENCE_END.search(found[-1]):
        found = found[:-1]
    return " ".join(" ".join(found[:sentences]).split())


def new_tokens(generation: dict[str, Any], length: SummaryLength) -> int:
    """How many tokens an answer at `length` may have: the default for the length, or the
    configured max_new_tokens (which is for the standard length) scaled to it."""
    configured = generation.get("max_new_tokens")
    if configured is None:
        return NEW_TOKENS[length]
    scale = NEW_TOKENS[length] / NEW_TOKENS[SummaryLength.STANDARD]
    return max(8, int(int(configured) * scale))


def final_summary(raw: str, length: SummaryLength, language: str | None = None) -> str:
    """The cleaned summary of a whole answer; raises ModelAnswerError when nothing is left."""
    summary = clean_summary(raw, length.sentences, language=language)
    if not summary:
        raise ModelAnswerError("the model gave no usable summary")
    return summary


def cache_name(prefix: str, source: str, generation: dict[str, Any]) -> str:
    """The summary cache's name for a model: it changes with the settings and the prompts."""
    fingerprint = hashlib.sha256(
        json.dumps([generation, PROMPT_VERSION], sort_keys=True).encode()
    ).hexdigest()[:8]
    return f"{prefix}:{source}/{fingerprint}"


class ChatSummarizer(WindowedSummarizer):
    """What every instruct-LLM runtime shares. A runtime gives `_answers` (the raw answer so
    far, each time it grows) for streaming; `stream` cleans it."""

    empty_is_failure = True
    writes_any_language = True
    generation: dict[str, Any]

    def new_tokens(self, length: SummaryLength) -> int:
        return new_tokens(self.generation, length)

    def _answers(
        self, text: str, length: SummaryLength, language: str | None = None
    ) -> Iterator[str]:
        raise NotImplementedError

    def stream(self, document: Document, length: SummaryLength) -> Iterator[str]:
        """The summary so far, cleaned, each time it grows (a preamble is held back until it
        can be told apart); the last value is the summary. An article longer than one
        window gives only its summary."""
        if len(self.windows(document.text, length, document.language)) > 1:
            yield from self.summarize_many([document], length)
            return
        language = document.summary_language
        written_in = language or document.language
        raw = ""
        for raw in self._answers(document.text, length, language):
            shown = clean_summary(raw, length.sentences, partial=True, language=written_in)
            if shown:
                yield shown
        yield final_summary(raw, length, written_in)


class CausalSummarizer(ChatSummarizer):
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        source: str,
        placement: Placement,
        runtime: RuntimeOptions,
        generation: GenerationOptions | None = None,
    ) -> None:
        context = input_limit(model, tokenizer, cap=MAX_CONTEXT_TOKENS)
        super().__init__(tokenizer, placement=placement, runtime=runtime, input_limit=context)
        self.model = model
        config = model.generation_config
        defaults = {key: getattr(config, key, None) for key in MODEL_KEYS}
        if not defaults.get("do_sample"):  # greedy: sampling settings would only warn
            defaults = {k: v for k, v in defaults.items() if k not in SAMPLING_KEYS}
        overrides = {
            k: v for k, v in asdict(generation or GenerationOptions()).items() if v is not None
        }
        self.generation = {k: v for k, v in (defaults | overrides).items() if v is not None}
        self._overhead = self._count(self.prompt("", language="pt"))
        self.name = cache_name("hf", source, self.generation)
        self.label = f"{source} (transformers, {placement.describe()})"

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        source: str | None = None,
        runtime: RuntimeOptions | None = None,
        generation: GenerationOptions | None = None,
        local_only: bool = True,
    ) -> CausalSummarizer:
        from transformers import AutoModelForCausalLM

        runtime = runtime or RuntimeOptions()
        tokenizer, model, placement = load_pretrained(
            str(path), AutoModelForCausalLM, runtime, local_only=local_only, what="a causal LM"
        )
        if not getattr(tokenizer, "chat_template", None):
            raise ModelLoadError(
                f"{path} has no chat template: Briefbot runs instruct (chat) models; "
                "use the model's -Instruct or -it variant"
            )
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if placement.quantized:
            logger.warning("int8 quantization is for seq2seq models; running %s as float", path)
        logger.info("Loaded %s on %s", path, placement.describe())
        return cls(
            model,
            tokenizer,
            source=source or str(path),
            placement=placement,
            runtime=runtime,
            generation=generation,
        )

    def prompt(
        self,
        text: str,
        length: SummaryLength = SummaryLength.STANDARD,
        language: str | None = None,
    ) -> str:
        """The chat-formatted prompt; thinking models are asked not to think
        (`enable_thinking`, which other templates ignore)."""
        messages = [{"role": "user", "content": prompt_text(text, length, language)}]
        rendered = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
        )
        return str(rendered)

    def window_budget(self, length: SummaryLength) -> int:
        return self.max_input_tokens - self._overhead - self.new_tokens(length) - 8

    def _settings(self, length: SummaryLength) -> dict[str, Any]:
        """generate()'s settings at `length`: a minimum never above the maximum."""
        settings = dict(self.generation)
        settings["max_new_tokens"] = most = self.new_tokens(length)
        if "min_new_tokens" in settings:
            settings["min_new_tokens"] = min(most, int(settings["min_new_tokens"]))
        return settings

    def _generate(
        self, texts: list[str], length: SummaryLength, language: str | None = None
    ) -> list[str]:
        """Summaries of texts that each fit the context, in left-padded, length-sorted
        batches; only the new tokens are decoded."""
        import torch

        settings = self._settings(length)
        prompts = [self.prompt(text, length, language) for text in texts]
        order = sorted(range(len(prompts)), key=lambda i: self._count(prompts[i]))
        outputs: list[str] = [""] * len(prompts)
        batch_size = max(1, self.runtime.batch_size)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encoded = self.tokenizer(
                [prompts[i] for i in chunk],
                padding=True,
                add_special_tokens=False,
                return_tensors="pt",
            ).to(self.placement.device)
            with torch.inference_mode():
                generated = self.model.generate(
                    **encoded, pad_token_id=self.tokenizer.pad_token_id, **settings
                )
            answers = self.tokenizer.batch_decode(
                generated[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True
            )
            for index, answer in zip(chunk, answers, strict=True):
                outputs[index] = clean_summary(answer, length.sentences, language=language)
            self.stats.batches.append(len(chunk))
        return outputs

    def _answers(
        self, text: str, length: SummaryLength, language: str | None = None
    ) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        settings = self._settings(length)
        encoded = self.tokenizer(
            [self.prompt(text, length, language)], add_special_tokens=False, return_tensors="pt"
        ).to(self.placement.device)
        failures: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(
                        **encoded,
                        streamer=streamer,
                        pad_token_id=self.tokenizer.pad_token_id,
                        **settings,
                    )
            except BaseException as exc:  # handed to the caller below
                failures.append(exc)
                streamer.end()

        with self._lock:
            worker = threading.Thread(target=generate, name="model-stream", daemon=True)
            worker.start()
            raw = ""
            for piece in streamer:
                raw += piece
                yield raw
            worker.join()
        if failures:
            raise failures[0]
