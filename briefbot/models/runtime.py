"""Device and precision, chosen in one place for every model Briefbot runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

DeviceChoice = Literal["auto", "cpu", "cuda"]
DtypeChoice = Literal["auto", "float32", "bfloat16", "float16"]


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    device: DeviceChoice = "auto"
    dtype: DtypeChoice = "auto"
    threads: int | None = None
    quantize: bool = False  # dynamic int8 for Linear layers (transformers: CPU only)
    batch_size: int = 8
    engine: Literal["transformers", "ctranslate2", "openai"] = "transformers"


@dataclass(frozen=True, slots=True)
class Placement:
    device: str
    dtype: Any  # torch.dtype
    quantized: bool

    def describe(self) -> str:
        kind = "int8-dynamic" if self.quantized else str(self.dtype).removeprefix("torch.")
        return f"{self.device}/{kind}"


def load_pretrained(
    path: str, auto_class: Any, options: RuntimeOptions, *, local_only: bool, what: str
) -> tuple[Any, Any, Placement]:
    """Tokenizer, model (an `auto_class` such as AutoModelForCausalLM, in eval mode on its
    device) and placement of a Hugging Face folder or cached hub name; raises
    ModelLoadError with one line naming `what` was being loaded."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from briefbot.models.base import ModelLoadError

    hf_logging.disable_progress_bar()
    # Counting tokens of whole articles is expected to exceed the input size; the warning
    # transformers prints about it would be noise.
    hf_logging.set_verbosity_error()
    placement = choose_placement(options)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local_only)
        model = auto_class.from_pretrained(
            path, local_files_only=local_only, dtype=placement.dtype
        )
    except (OSError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise ModelLoadError(f"cannot load {what} from {path}: {first_line}") from exc
    model.eval()
    model.to(placement.device)
    return tokenizer, model, placement


def choose_placement(options: RuntimeOptions) -> Placement:
    """CUDA with bf16 when available (fp16 where bf16 is not), else CPU float32."""
    import torch

    if options.threads:
        torch.set_num_threads(options.threads)
    cuda = torch.cuda.is_available()
    if options.device == "cuda" and not cuda:
        from briefbot.models.base import ModelLoadError

        raise ModelLoadError("device 'cuda' was asked for, but no CUDA GPU is available")
    device = "cuda" if options.device == "cuda" or (options.device == "auto" and cuda) else "cpu"
    if options.dtype != "auto":
        dtype = getattr(torch, options.dtype)
    elif device == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.float32
    quantized = options.quantize and device == "cpu"
    if options.quantize and device != "cpu":
        logger.warning("int8 quantization is for the CPU; running on %s as %s", device, dtype)
    return Placement(device, dtype, quantized)
