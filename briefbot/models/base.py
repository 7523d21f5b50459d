"""What every summarizer offers, and the options shared by all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class SummaryLength(StrEnum):
    SHORT = "short"
    STANDARD = "standard"
    LONG = "long"

    @property
    def sentences(self) -> int:
        return {"short": 1, "standard": 3, "long": 5}[self.value]


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    title: str = ""
    language: str | None = None  # ISO 639-1, when known: the sentence rules follow it
    # The language to write the summary in (ISO 639-1), for models that can write any language
    # (`writes_any_language`); None: the article's own.
    summary_language: str | None = None


class ModelLoadError(RuntimeError):
    """The configured summarizer cannot be found or loaded."""


class Summarizer(Protocol):
    """A loaded model. `name` identifies it in the summary cache, so it changes with behaviour;
    `label` is what people are shown."""

    name: str
    label: str
    # Whether it can write a summary in another language than the article's (instruct LLMs);
    # extractive and seq2seq models summarize in the article's language only.
    writes_any_language: bool

    def summarize_many(self, documents: Sequence[Document], length: SummaryLength) -> list[str]:
        """Summaries in the same order as `documents`; blocking, call it off the event loop."""
        ...
