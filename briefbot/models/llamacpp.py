"""Instruct LLMs in GGUF files on llama.cpp (optional: `pip install ".[llamacpp]"`), the fast
way to run a quantized model (Q8_0, Q4_K_M...) on a CPU.

The prompts, cleaning, windows and reduce steps are those of the transformers runtime
(`causal.py`); the chat template is the one stored in the GGUF file, rendered as transformers
renders it, so thinking models are asked not to think. llama.cpp's Python API runs one
sequence at a time, so a batch is a loop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from briefbot.models.base import ModelLoadError, SummaryLength
from briefbot.models.causal import (
    MAX_CONTEXT_TOKENS,
    ChatSummarizer,
    cache_name,
    clean_summary,
    prompt_text,
)
from briefbot.models.runtime import Placement, RuntimeOptions
from briefbot.models.seq2seq import GenerationOptions

logger = logging.getLogger(__name__)

# llama.cpp's names for the settings BRIEFBOT_GENERATION may hold.
_SAMPLING = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "repetition_penalty": "repeat_penalty",
}


def _render_template(template: str, variables: dict[str, Any]) -> str:
    """A chat template rendered the way transformers renders one (sandboxed Jinja)."""
    from jinja2 import TemplateError
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return environment.from_string(template).render(**variables)


def trained_context(path: Path) -> int | None:
    """The context a GGUF file's model was trained for, read from its header (so that
    llama.cpp is opened with no more than that); None when it cannot be read."""
    try:
        from gguf import GGUFReader

        fields = GGUFReader(path).fields
        architecture = fields["general.architecture"].contents()
        return int(fields[f"{architecture}.context_length"].contents())
    except (ImportError, OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def context_tokens(llama: Any) -> int:
    """The context the model was trained for, within the one it was opened with."""
    architecture = llama.metadata.get("general.architecture", "")
    trained = int(llama.metadata.get(f"{architecture}.context_length") or 0)
    return min(llama.n_ctx(), trained) if trained > 0 else int(llama.n_ctx())


class LlamaCppSummarizer(ChatSummarizer):
    def __init__(
        self,
        llama: Any,
        *,
        source: str,
        runtime: RuntimeOptions,
        generation: GenerationOptions | None = None,
        gpu: bool = False,
    ) -> None:
        self.llama = llama
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelLoadError(
                f"{source} has no chat template: Briefbot runs instruct (chat) models; "
                "use the model's -Instruct or -it GGUF"
            )
        self.template = template
        metadata = llama.metadata
        self.special = {
            f"{kind}_token": self._token_text(metadata.get(f"tokenizer.ggml.{kind}_token_id"))
            for kind in ("bos", "eos")
        }
        super().__init__(
            None,
            placement=Placement("cuda" if gpu else "cpu", None, False),
            runtime=runtime,
            input_limit=context_tokens(llama),
        )
        chosen = {
            k: v for k, v in asdict(generation or GenerationOptions()).items() if v is not None
        }
        # No generation_config travels in a GGUF file: greedy unless told otherwise, as for
        # a served model.
        if not chosen.get("do_sample", False):
            chosen["temperature"] = 0.0
        self.generation = {
            key: chosen[key]
            for key in ("max_new_tokens", "min_new_tokens", *_SAMPLING)
            if key in chosen
        }
        self._overhead = self._count(self.prompt("", language="pt"))
        self.name = cache_name("gguf", source, self.generation)
        self.label = f"{source} (llama.cpp, {'GPU' if gpu else 'CPU'})"

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        source: str | None = None,
        runtime: RuntimeOptions | None = None,
        generation: GenerationOptions | None = None,
    ) -> LlamaCppSummarizer:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelLoadError(
                f"{path.name} is a GGUF file, which runs on llama.cpp: "
                "pip install '.[llamacpp]' (it compiles llama.cpp; a C compiler and cmake "
                "are needed)"
            ) from exc
        runtime = runtime or RuntimeOptions()
        if runtime.engine != "transformers":
            raise ModelLoadError(
                f"{path.name} is a GGUF file: it runs on llama.cpp, not on {runtime.engine}; "
                "unset BRIEFBOT_RUNTIME"
            )
        gpu = runtime.device != "cpu" and bool(llama_cpp.llama_supports_gpu_offload())
        if runtime.device == "cuda" and not gpu:
            raise ModelLoadError(
                "device 'cuda' was asked for, but this llama-cpp-python was built without "
                "GPU offload (see llama-cpp-python's install notes for CMAKE_ARGS)"
            )
        if runtime.quantize:
            logger.warning("BRIEFBOT_QUANTIZE does not apply to a GGUF file: its type is fixed")
        try:
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=min(MAX_CONTEXT_TOKENS, trained_context(path) or MAX_CONTEXT_TOKENS),
                # llama-cpp-python's own default is half the CPUs: one thread on a 2-core VM.
                n_threads=runtime.threads or os.cpu_count(),
                n_gpu_layers=-1 if gpu else 0,
                verbose=False,
            )
        except (ValueError, OSError, RuntimeError) as exc:
            raise ModelLoadError(f"cannot load the GGUF file {path}: {exc}") from exc
        logger.info("Loaded %s on llama.cpp (%s)", path, "GPU" if gpu else "CPU")
        return cls(
            llama, source=source or str(path), runtime=runtime, generation=generation, gpu=gpu
        )

    def _token_text(self, token: str | None) -> str:
        if token is None:
            return ""
        text = self.llama.detokenize([int(token)], special=True)
        return str(text.decode("utf-8", errors="replace"))

    def prompt(
        self,
        text: str,
        length: SummaryLength = SummaryLength.STANDARD,
        language: str | None = None,
    ) -> str:
        messages = [{"role": "user", "content": prompt_text(text, length, language)}]
        return _render_template(
            self.template,
            {
                "messages": messages,
                "add_generation_prompt": True,
                "enable_thinking": False,
                **self.special,
            },
        )

    def _tokens(self, text: str, *, special: bool = False) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def _count(self, text: str) -> int:
        return len(self._tokens(text))

    def _cut(self, sentence: str, budget: int) -> list[str]:
        ids = self._tokens(sentence)
        return [
            self.llama.detokenize(ids[start : start + budget]).decode("utf-8", errors="ignore")
            for start in range(0, len(ids), budget)
        ]

    def window_budget(self, length: SummaryLength) -> int:
        return self.max_input_tokens - self._overhead - self.new_tokens(length) - 8

    def _completion(
        self, text: str, length: SummaryLength, language: str | None, *, stream: bool
    ) -> Any:
        # The template writes the BOS marker itself where the model wants one, so the prompt
        # is tokenized here (special markers as tokens, no second BOS).
        prompt = self._tokens(self.prompt(text, length, language), special=True)
        sampling = {
            name: self.generation[key] for key, name in _SAMPLING.items() if key in self.generation
        }
        minimum = int(self.generation.get("min_new_tokens") or 0)
        processors = None
        if minimum:
            import numpy as np
            from llama_cpp import LogitsProcessorList

            end = self.llama.token_eos()
            start = len(prompt)

            def hold_end(input_ids: Any, scores: Any) -> Any:
                if len(input_ids) - start < minimum:
                    scores[end] = -np.inf
                return scores

            processors = LogitsProcessorList([hold_end])
        return self.llama.create_completion(
            prompt,
            max_tokens=self.new_tokens(length),
            stream=stream,
            logits_processor=processors,
            **sampling,
        )

    def _generate(
        self, texts: list[str], length: SummaryLength, language: str | None = None
    ) -> list[str]:
        outputs = []
        for text in texts:
            answer = self._completion(text, length, language, stream=False)
            raw = answer["choices"][0]["text"]
            outputs.append(clean_summary(raw, length.sentences, language=language))
            self.stats.batches.append(1)
        return outputs

    def _answers(
        self, text: str, length: SummaryLength, language: str | None = None
    ) -> Iterator[str]:
        raw = ""
        with self._lock:
            for chunk in self._completion(text, length, language, stream=True):
                raw += chunk["choices"][0]["text"]
                yield raw
