"""Summaries from a model behind an OpenAI-compatible server (vLLM, llama.cpp's server,
Ollama, TGI): the same prompts and cleaning as an instruct LLM run here (`causal.py`), sent as
chat completions with a timeout, retries with backoff on 5xx, 429 and broken connections
(the openai client's), and at most `concurrency` requests at once.

The server's tokenizer is not at hand, so windows are measured in characters (a token is at
least about three characters of news text in the languages these models serve).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from briefbot.models.base import ModelLoadError, SummaryLength
from briefbot.models.causal import ChatSummarizer, cache_name, clean_summary, prompt_text
from briefbot.models.runtime import Placement, RuntimeOptions
from briefbot.models.seq2seq import GenerationOptions

logger = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3
PROMPT_TOKENS = 80  # the instructions around the article, and the chat template's markers


@dataclass(frozen=True, slots=True)
class ServerOptions:
    url: str  # the API's base URL, e.g. http://gpu-box:8000/v1
    key: str | None = None
    timeout: float = 120.0
    retries: int = 3
    concurrency: int = 4
    context_tokens: int = 8192


class ServedSummarizer(ChatSummarizer):
    def __init__(
        self, model: str, options: ServerOptions, generation: GenerationOptions | None = None
    ) -> None:
        try:
            from openai import OpenAI
        except ImportError as exc:
            raise ModelLoadError(
                "BRIEFBOT_RUNTIME=openai needs the openai package: pip install '.[openai]'"
            ) from exc

        super().__init__(
            None,
            placement=Placement("server", None, False),
            runtime=RuntimeOptions(batch_size=options.concurrency),
            input_limit=options.context_tokens,
        )
        self.model = model
        self.options = options
        self.client = OpenAI(
            base_url=options.url,
            api_key=options.key or "none",
            timeout=options.timeout,
            max_retries=options.retries,
        )
        chosen = {
            k: v for k, v in asdict(generation or GenerationOptions()).items() if v is not None
        }
        self.generation: dict[str, Any] = {
            key: chosen[key] for key in ("max_new_tokens", "temperature", "top_p") if key in chosen
        }
        self.generation.setdefault("temperature", 0.0)
        # The cache key is the served model's name: the same model behind another URL (or
        # another replica) shares summaries.
        self.name = cache_name("openai", model, self.generation)
        self.label = f"{model} (served at {urlsplit(options.url).netloc or options.url})"

    @classmethod
    def connect(
        cls, model: str, options: ServerOptions, generation: GenerationOptions | None = None
    ) -> ServedSummarizer:
        """Check that the server serves `model` when it can be reached; a server that is not
        up yet is not fatal (summaries fail, are recorded and retried, until it is)."""
        from openai import APIError

        summarizer = cls(model, options, generation)
        try:
            served = [m.id for m in summarizer.client.with_options(max_retries=0).models.list()]
        except APIError as exc:
            logger.warning("Model server at %s not reachable yet: %s", options.url, exc)
            return summarizer
        if served and model not in served:
            raise ModelLoadError(
                f"the server at {options.url} does not serve {model!r}; it serves: "
                + ", ".join(served[:10])
            )
        logger.info("Summaries from %s at %s", model, options.url)
        return summarizer

    def _count(self, text: str) -> int:
        return len(text) // CHARS_PER_TOKEN + 1

    def _cut(self, sentence: str, budget: int) -> list[str]:
        size = budget * CHARS_PER_TOKEN
        return [sentence[start : start + size] for start in range(0, len(sentence), size)]

    def window_budget(self, length: SummaryLength) -> int:
        return self.max_input_tokens - PROMPT_TOKENS - self.new_tokens(length)

    def _request(self, text: str, length: SummaryLength, language: str | None) -> dict[str, Any]:
        sampling = {k: v for k, v in self.generation.items() if k != "max_new_tokens"}
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt_text(text, length, language)}],
            "max_tokens": self.new_tokens(length),
            **sampling,
        }

    def _ask(self, text: str, length: SummaryLength, language: str | None) -> str:
        answer = self.client.chat.completions.create(**self._request(text, length, language))
        content = answer.choices[0].message.content if answer.choices else None
        return clean_summary(content or "", length.sentences, language=language)

    def _generate(
        self, texts: list[str], length: SummaryLength, language: str | None = None
    ) -> list[str]:
        workers = max(1, min(self.options.concurrency, len(texts)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="served") as pool:
            summaries = list(pool.map(lambda text: self._ask(text, length, language), texts))
        self.stats.batches.append(len(texts))
        return summaries

    def _answers(
        self, text: str, length: SummaryLength, language: str | None = None
    ) -> Iterator[str]:
        request = self._request(text, length, language)
        chunks = self.client.chat.completions.create(**request, stream=True)
        raw = ""
        for chunk in chunks:
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                raw += delta
                yield raw
