"""What every transformers-tokenized summarizer shares: long articles are not truncated.

They are split on sentence boundaries into windows that fit the model's input, each window is
summarized, and the joined summaries are summarized again until one pass covers everything.
All windows of all articles in one call are generated together, in length-sorted batches.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from briefbot.models.base import Document, SummaryLength
from briefbot.models.runtime import Placement, RuntimeOptions
from briefbot.models.sentences import join_sentences, split_sentences

MAX_REDUCE_ROUNDS = 4


class ModelAnswerError(RuntimeError):
    """The model answered, but with nothing that makes a summary."""


@dataclass(slots=True)
class Stats:
    """What the last calls did; for tests and benchmarks."""

    windows: int = 0
    batches: list[int] = field(default_factory=list)
    reduce_rounds: int = 0


class WindowedSummarizer:
    """Subclasses say how many tokens of article a window may hold (`window_budget`) and how
    a list of texts that fit is summarized (`_generate`); without a tokenizer, also how
    tokens are counted (`_count`) and a long sentence is cut (`_cut`)."""

    name: str
    label: str
    writes_any_language = False
    # Whether an article that gets no summary at all is an error (generative models that may
    # answer with nothing usable) rather than an empty summary.
    empty_is_failure = False

    def __init__(
        self, tokenizer: Any, *, placement: Placement, runtime: RuntimeOptions, input_limit: int
    ) -> None:
        self.tokenizer = tokenizer
        self.placement = placement
        self.runtime = runtime
        self.max_input_tokens = input_limit
        self.stats = Stats()
        self._lock = threading.Lock()

    def window_budget(self, length: SummaryLength) -> int:
        return self.max_input_tokens - 4

    def _generate(
        self, texts: list[str], length: SummaryLength, language: str | None = None
    ) -> list[str]:
        """Summaries of texts that each fit the input, written in `language` (ISO 639-1) where
        the model can (None: the text's own)."""
        raise NotImplementedError

    def _count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _cut(self, sentence: str, budget: int) -> list[str]:
        ids = self.tokenizer(sentence, add_special_tokens=False)["input_ids"]
        return [
            self.tokenizer.decode(ids[start : start + budget], skip_special_tokens=True)
            for start in range(0, len(ids), budget)
        ]

    def windows(
        self,
        text: str,
        length: SummaryLength = SummaryLength.STANDARD,
        language: str | None = None,
    ) -> list[str]:
        """Split on sentence boundaries into pieces that fit the model's input."""
        budget = max(16, self.window_budget(length))
        pieces: list[str] = []
        current: list[str] = []
        used = 0
        for sentence in split_sentences(text, language):
            size = self._count(sentence)
            if size > budget:  # one huge "sentence": cut it by tokens
                if current:
                    pieces.append(" ".join(current))
                    current, used = [], 0
                pieces.extend(self._cut(sentence, budget))
                continue
            if used + size > budget and current:
                pieces.append(" ".join(current))
                current, used = [], 0
            current.append(sentence)
            used += size + 1
        if current:
            pieces.append(" ".join(current))
        return pieces or [text.strip()]

    def summarize_many(self, documents: Sequence[Document], length: SummaryLength) -> list[str]:
        with self._lock:
            summaries = self._summarize_many(documents, length)
        if self.empty_is_failure:
            empty = sum(
                1 for d, s in zip(documents, summaries, strict=True) if d.text.strip() and not s
            )
            if empty:
                raise ModelAnswerError(
                    f"the model gave no usable summary for {empty} of {len(documents)} articles"
                )
        return summaries

    def _summarize_many(self, documents: Sequence[Document], length: SummaryLength) -> list[str]:
        pending = {
            i: self.windows(d.text, length, d.language)
            for i, d in enumerate(documents)
            if d.text.strip()
        }
        sizes = {i: len(d.text) for i, d in enumerate(documents)}
        results = ["" for _ in documents]
        for round_number in range(MAX_REDUCE_ROUNDS + 1):
            if not pending:
                break
            if round_number:
                self.stats.reduce_rounds += 1
            joined: dict[int, list[str]] = {}
            for language in dict.fromkeys(documents[i].summary_language for i in pending):
                flat = [
                    (i, w)
                    for i, pieces in pending.items()
                    if documents[i].summary_language == language
                    for w in pieces
                ]
                self.stats.windows += len(flat)
                summaries = self._generate([w for _, w in flat], length, language)
                for (index, _), summary in zip(flat, summaries, strict=True):
                    joined.setdefault(index, []).append(summary)
            pending = {}
            for index, parts in joined.items():
                text = " ".join(parts)
                if len(parts) == 1:
                    results[index] = text
                elif round_number == MAX_REDUCE_ROUNDS or len(text) >= sizes[index]:
                    # A window too small for the answers makes summaries that do not shrink:
                    # rather than loop, keep the first sentences, as many as asked for.
                    written_in = documents[index].summary_language or documents[index].language
                    results[index] = join_sentences(
                        split_sentences(text, written_in)[: length.sentences]
                    )
                else:
                    # The window summaries together are the new text to summarize.
                    sizes[index] = len(text)
                    written_in = documents[index].summary_language or documents[index].language
                    pending[index] = self.windows(text, length, written_in)
        return results


def input_limit(model: Any, tokenizer: Any, cap: int = 100_000) -> int:
    """The model's input size: its position embeddings or the tokenizer's limit, at most
    `cap`; 512 when neither says."""
    limits = [
        getattr(model.config, "max_position_embeddings", None),
        getattr(tokenizer, "model_max_length", None),
    ]
    usable = [int(x) for x in limits if isinstance(x, int) and 0 < x < 100_000]
    return min([*usable, cap]) if usable else min(512, cap)
