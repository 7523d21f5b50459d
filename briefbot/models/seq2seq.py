"""Abstractive summaries from any Hugging Face seq2seq model (BART, PEGASUS, T5, ...), window
by window for long articles (`windowed.py`)."""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from briefbot.models.base import ModelLoadError, SummaryLength
from briefbot.models.runtime import Placement, RuntimeOptions, load_pretrained
from briefbot.models.windowed import WindowedSummarizer, input_limit

logger = logging.getLogger(__name__)

GENERATION_KEYS = (
    "num_beams",
    "length_penalty",
    "min_length",
    "max_length",
    "no_repeat_ngram_size",
    "early_stopping",
)


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Overrides for the model's own generation settings (BRIEFBOT_GENERATION); None keeps
    the model's value. The first six are for seq2seq models, the rest for causal LMs."""

    num_beams: int | None = None
    length_penalty: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    no_repeat_ngram_size: int | None = None
    early_stopping: bool | None = None
    max_new_tokens: int | None = None
    min_new_tokens: int | None = None
    do_sample: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None


def _model_settings(model: Any) -> tuple[dict[str, Any], str]:
    """Generation settings from the model's config, and the task prefix (T5's "summarize: ")."""
    generation = model.generation_config
    settings = {key: getattr(generation, key, None) for key in GENERATION_KEYS}
    task = (getattr(model.config, "task_specific_params", None) or {}).get("summarization", {})
    for key in GENERATION_KEYS:
        if key in task:
            settings[key] = task[key]
    return settings, task.get("prefix", "")


class Seq2SeqSummarizer(WindowedSummarizer):
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
        super().__init__(
            tokenizer,
            placement=placement,
            runtime=runtime,
            input_limit=input_limit(model, tokenizer),
        )
        self.model = model
        defaults, self.prefix = _model_settings(model)
        overrides = {
            k: v for k, v in asdict(generation or GenerationOptions()).items() if v is not None
        }
        self.generation = {k: v for k, v in (defaults | overrides).items() if v is not None}
        fingerprint = hashlib.sha256(
            json.dumps([self.generation, self.prefix], sort_keys=True).encode()
        ).hexdigest()[:8]
        self.name = f"hf:{source}/{fingerprint}"
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
    ) -> Seq2SeqSummarizer:
        import torch
        from transformers import AutoModelForSeq2SeqLM

        runtime = runtime or RuntimeOptions()
        tokenizer, model, placement = load_pretrained(
            str(path),
            AutoModelForSeq2SeqLM,
            runtime,
            local_only=local_only,
            what="a summarization model",
        )
        if not model.config.is_encoder_decoder:
            raise ModelLoadError(f"{path} is not a sequence-to-sequence model")
        if placement.quantized:
            with warnings.catch_warnings():
                # torch marks eager-mode quantization as deprecated in favour of torchao.
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", UserWarning)
                model = torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        logger.info("Loaded %s on %s", path, placement.describe())
        return cls(
            model,
            tokenizer,
            source=source or str(path),
            placement=placement,
            runtime=runtime,
            generation=generation,
        )

    # -- lengths ----------------------------------------------------------------------------

    def _length_settings(self, length: SummaryLength) -> dict[str, Any]:
        settings = dict(self.generation)
        max_length = int(settings.get("max_length") or 142)
        min_length = int(settings.get("min_length") or 0)
        if length is SummaryLength.SHORT:
            settings["max_length"] = max(16, min(max_length, 48))
            settings["min_length"] = min(min_length, 8)
        elif length is SummaryLength.LONG:
            settings["max_length"] = int(max_length * 1.6)
            settings["min_length"] = int(max(min_length, 20) * 1.5)
        return settings

    def window_budget(self, length: SummaryLength) -> int:
        return self.max_input_tokens - 4 - (self._count(self.prefix) if self.prefix else 0)

    # -- generation -------------------------------------------------------------------------

    def _generate(
        self, texts: list[str], length: SummaryLength, language: str | None = None
    ) -> list[str]:
        """Summaries of texts that each fit the input, generated in length-sorted batches."""
        import torch

        settings = self._length_settings(length)
        order = sorted(range(len(texts)), key=lambda i: self._count(texts[i]))
        outputs: list[str] = [""] * len(texts)
        batch_size = max(1, self.runtime.batch_size)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encoded = self.tokenizer(
                [self.prefix + texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=self.max_input_tokens,
                return_tensors="pt",
            ).to(self.placement.device)
            with torch.inference_mode():
                generated = self.model.generate(**encoded, **settings)
            decoded = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
            for index, summary in zip(chunk, decoded, strict=True):
                outputs[index] = " ".join(summary.split())
            self.stats.batches.append(len(chunk))
        return outputs
