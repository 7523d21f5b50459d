"""CTranslate2 as a faster runtime (optional: `pip install ctranslate2`) for seq2seq models
(BART, T5...) and for instruct LLMs (Llama, Qwen2, Gemma, Mistral...).

The Hugging Face folder is converted once (int8 or float) into the models folder, then the
same windowing, batching, prompts, cleaning and reduce steps as the transformers runtime run
on CTranslate2's Translator (seq2seq) or Generator (decoder-only).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from briefbot.models.base import ModelLoadError, SummaryLength
from briefbot.models.causal import CausalSummarizer, clean_summary
from briefbot.models.runtime import Placement, RuntimeOptions, choose_placement
from briefbot.models.seq2seq import GenerationOptions, Seq2SeqSummarizer

logger = logging.getLogger(__name__)

# Config fields that CTranslate2's BART loader reads and that transformers 5 no longer defines
# on BartConfig; these values are the ones every released BART-family checkpoint uses.
_LEGACY_BART_FIELDS = {
    "normalize_before": False,
    "add_final_layer_norm": False,
    "static_position_embeddings": False,
    "normalize_embedding": True,
    "add_bias_logits": False,
}


def compute_type(device: str, quantize: bool) -> str:
    if device == "cuda":
        return "int8_float16" if quantize else "bfloat16"
    return "int8" if quantize else "float32"


def convert(source: Path, target: Path, quantization: str) -> Path:
    """Convert a Hugging Face seq2seq folder for CTranslate2 unless already done."""
    if (target / "model.bin").is_file():
        return target
    try:
        import transformers
        from ctranslate2.converters import TransformersConverter
    except ImportError as exc:
        raise ModelLoadError(
            "the ctranslate2 runtime needs the ctranslate2 package: pip install ctranslate2"
        ) from exc
    for name, value in _LEGACY_BART_FIELDS.items():
        if not hasattr(transformers.BartConfig, name):
            setattr(transformers.BartConfig, name, value)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        TransformersConverter(str(source)).convert(
            str(target), quantization=quantization, force=True
        )
    except Exception as exc:
        raise ModelLoadError(f"cannot convert {source} for CTranslate2: {exc}") from exc
    logger.info("Converted %s for CTranslate2 (%s) into %s", source, quantization, target)
    return target


class _ConfigOnly:
    """What the shared code reads from a model: its config and generation config."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoConfig, GenerationConfig

        self.config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
        try:
            self.generation_config = GenerationConfig.from_pretrained(
                str(folder), local_files_only=True
            )
        except OSError:
            self.generation_config = GenerationConfig.from_model_config(self.config)


class CTranslate2Summarizer(Seq2SeqSummarizer):
    translator: Any

    @classmethod
    def load_converted(
        cls,
        folder: Path,
        converted_root: Path,
        *,
        source: str,
        runtime: RuntimeOptions | None = None,
        generation: GenerationOptions | None = None,
    ) -> CTranslate2Summarizer:
        runtime = runtime or RuntimeOptions()
        tokenizer, translator, placement, kind = _open(
            folder, converted_root, runtime, "Translator"
        )
        summarizer = cls(
            _ConfigOnly(folder),
            tokenizer,
            source=source,
            placement=placement,
            runtime=runtime,
            generation=generation,
        )
        summarizer.translator = translator
        summarizer.name = summarizer.name.replace("hf:", f"ct2-{kind}:", 1)
        summarizer.label = f"{source or folder} (CTranslate2, {kind})"
        return summarizer

    def _generate(
        self, texts: list[str], length: SummaryLength, language: str | None = None
    ) -> list[str]:
        settings = self._length_settings(length)
        tokenize = self.tokenizer
        batch = [
            tokenize.convert_ids_to_tokens(
                tokenize(self.prefix + text, truncation=True, max_length=self.max_input_tokens)[
                    "input_ids"
                ]
            )
            for text in texts
        ]
        results = self.translator.translate_batch(
            batch,
            max_batch_size=max(1, self.runtime.batch_size),
            batch_type="examples",
            beam_size=int(settings.get("num_beams") or 1),
            length_penalty=float(settings.get("length_penalty") or 1.0),
            no_repeat_ngram_size=int(settings.get("no_repeat_ngram_size") or 0),
            max_decoding_length=int(settings.get("max_length") or 142),
            min_decoding_length=int(settings.get("min_length") or 0),
        )
        self.stats.batches.append(len(texts))
        outputs = []
        for result in results:
            ids = tokenize.convert_tokens_to_ids(result.hypotheses[0])
            outputs.append(" ".join(tokenize.decode(ids, skip_special_tokens=True).split()))
        return outputs


def _open(
    folder: Path, converted_root: Path, runtime: RuntimeOptions, engine: str
) -> tuple[Any, Any, Placement, str]:
    """Convert `folder` once and load it: the tokenizer, the CTranslate2 `engine`
    ("Translator" or "Generator"), the placement and the compute type."""
    from transformers import AutoTokenizer

    try:
        import ctranslate2
    except ImportError as exc:
        raise ModelLoadError(
            "BRIEFBOT_RUNTIME=ctranslate2 needs the ctranslate2 package: pip install ctranslate2"
        ) from exc
    placement = choose_placement(runtime)
    kind = compute_type(placement.device, runtime.quantize)
    suffix = "int8" if runtime.quantize else "float"
    target = converted_root / f"{folder.name}.ct2-{'lm-' if engine == 'Generator' else ''}{suffix}"
    convert(folder, target, "int8" if runtime.quantize else "float32")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        loaded = getattr(ctranslate2, engine)(
            str(target),
            device=placement.device,
            compute_type=kind,
            intra_threads=runtime.threads or 0,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot load {target} with CTranslate2: {exc}") from exc
    logger.info("Loaded %s with CTranslate2 on %s/%s", folder, placement.device, kind)
    return tokenizer, loaded, placement, kind


class CTranslate2CausalSummarizer(CausalSummarizer):
    """An instruct LLM on CTranslate2's Generator: int8 on a CPU (`BRIEFBOT_QUANTIZE=1`)."""

    generator: Any

    @classmethod
    def load_converted(
        cls,
        folder: Path,
        converted_root: Path,
        *,
        source: str,
        runtime: RuntimeOptions | None = None,
        generation: GenerationOptions | None = None,
    ) -> CTranslate2CausalSummarizer:
        runtime = runtime or RuntimeOptions()
        tokenizer, generator, placement, kind = _open(folder, converted_root, runtime, "Generator")
        if not getattr(tokenizer, "chat_template", None):
            raise ModelLoadError(f"{folder} has no chat template: use an instruct (chat) model")
        summarizer = cls(
            _ConfigOnly(folder),
            tokenizer,
            source=source,
            placement=placement,
            runtime=runtime,
            generation=generation,
        )
        summarizer.generator = generator
        summarizer.name = summarizer.name.replace("hf:", f"ct2-{kind}:", 1)
        summarizer.label = f"{source} (CTranslate2, {kind})"
        return summarizer

    def _options(self, length: SummaryLength) -> dict[str, Any]:
        settings = self.generation
        most = self.new_tokens(length)
        options: dict[str, Any] = {
            "max_length": most,
            "min_length": min(most, int(settings.get("min_new_tokens") or 0)),
            "repetition_penalty": float(settings.get("repetition_penalty") or 1.0),
        }
        if settings.get("do_sample"):
            options |= {
                "sampling_topk": int(settings.get("top_k") or 50),
                "sampling_topp": float(settings.get("top_p") or 1.0),
                "sampling_temperature": float(settings.get("temperature") or 1.0),
            }
        return options

    def _tokens(self, text: str, length: SummaryLength, language: str | None) -> list[str]:
        prompt = self.prompt(text, length, language)
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        return list(self.tokenizer.convert_ids_to_tokens(ids))

    def _generate(
        self, texts: list[str], length: SummaryLength, language: str | None = None
    ) -> list[str]:
        results = self.generator.generate_batch(
            [self._tokens(text, length, language) for text in texts],
            max_batch_size=max(1, self.runtime.batch_size),
            include_prompt_in_result=False,
            **self._options(length),
        )
        self.stats.batches.append(len(texts))
        return [
            clean_summary(
                self.tokenizer.decode(result.sequences_ids[0], skip_special_tokens=True),
                length.sentences,
                language=language,
            )
            for result in results
        ]

    def _answers(
        self, text: str, length: SummaryLength, language: str | None = None
    ) -> Iterator[str]:
        ids: list[int] = []
        with self._lock:
            for step in self.generator.generate_tokens(
                self._tokens(text, length, language), **self._options(length)
            ):
                ids.append(step.token_id)
                yield self.tokenizer.decode(ids, skip_special_tokens=True)
