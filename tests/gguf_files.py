"""GGUF files written with the `gguf` package from a Hugging Face Qwen2 or Llama folder (the
tiny ones of tiny_models.py, or the bench's random full-size ones), for the llama.cpp runtime.

Only what these models need: weights by gguf's own name map, the byte-level BPE vocabulary
and merges, the chat template, and the end and padding tokens. Other quantizations (Q8_0,
Q4_K_M) are made from the F16 file by llama.cpp's own quantizer (`quantize`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# llama.cpp's file types (LLAMA_FTYPE_*) for the quantizations the bench measures.
FILE_TYPES = {"Q8_0": 7, "Q4_K_M": 15}


def _llama_permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """transformers' rotary layout for q/k to llama.cpp's (as llama.cpp's own converter)."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def write_gguf(
    folder: Path, target: Path, *, half: bool = False, chat_template: bool = True
) -> Path:
    import gguf

    config = json.loads((folder / "config.json").read_text())
    architecture = {"qwen2": gguf.MODEL_ARCH.QWEN2, "llama": gguf.MODEL_ARCH.LLAMA}[
        config["model_type"]
    ]
    layers = config["num_hidden_layers"]
    names = gguf.get_tensor_name_map(architecture, layers)
    writer = gguf.GGUFWriter(str(target), gguf.MODEL_ARCH_NAMES[architecture])
    writer.add_name(folder.name)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(layers)
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_rope_freq_base(float(config.get("rope_theta") or 10_000.0))
    writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if half else gguf.LlamaFileType.ALL_F32)
    _add_tokenizer(writer, folder, config, chat_template=chat_template)
    _add_weights(writer, folder, config, names, half=half)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def _add_tokenizer(writer, folder: Path, config: dict, *, chat_template: bool) -> None:
    import gguf

    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    for added in tokenizer.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
    special = {added["id"] for added in tokenizer.get("added_tokens", []) if added["special"]}
    tokens = [""] * config["vocab_size"]
    for token, index in vocab.items():
        if index < len(tokens):
            tokens[index] = token
    kinds = [
        gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL
        for i in range(len(tokens))
    ]
    for index, token in enumerate(tokens):
        if not token:  # ids the vocabulary leaves unused
            tokens[index], kinds[index] = f"[PAD{index}]", gguf.TokenType.UNUSED
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]
    # llama.cpp wants the merges key, which gguf leaves out when empty (the bench's vocabulary
    # has no merges); a merge of two spaces never applies to its single-spaced text.
    merges = merges or ["Ġ Ġ"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2" if config["model_type"] == "qwen2" else "llama-bpe")
    writer.add_token_list(tokens)
    writer.add_token_types(kinds)
    writer.add_token_merges(merges)
    writer.add_eos_token_id(vocab[settings["eos_token"]])
    if settings.get("bos_token"):
        writer.add_bos_token_id(vocab[settings["bos_token"]])
    writer.add_add_bos_token(False)  # the chat template writes it
    if settings.get("pad_token"):
        writer.add_pad_token_id(vocab[settings["pad_token"]])
    template = settings.get("chat_template")
    if template is None and (folder / "chat_template.jinja").is_file():
        template = (folder / "chat_template.jinja").read_text()
    if chat_template:
        writer.add_chat_template(template)


def _add_weights(writer, folder: Path, config: dict, names, *, half: bool) -> None:
    import torch
    from safetensors.torch import load_file

    weights = {}
    for part in sorted(folder.glob("*.safetensors")):
        weights.update(load_file(part))
    if "lm_head.weight" not in weights:  # tied embeddings
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    for name, tensor in weights.items():
        data = tensor.to(torch.float32).numpy()
        if config["model_type"] == "llama" and name.endswith("q_proj.weight"):
            data = _llama_permute(data, config["num_attention_heads"])
        elif config["model_type"] == "llama" and name.endswith("k_proj.weight"):
            data = _llama_permute(data, config["num_key_value_heads"])
        mapped = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            raise ValueError(f"no GGUF name for {name}")
        # Norms and biases stay float32, as llama.cpp's converter keeps them.
        if half and data.ndim == 2:
            data = data.astype(np.float16)
        writer.add_tensor(mapped, data)


def quantize(source: Path, target: Path, kind: str) -> Path:
    """`source` (an F16 GGUF) quantized by llama.cpp's own quantizer."""
    import ctypes

    import llama_cpp

    if not _QUIET:
        _QUIET.append(llama_cpp.llama_log_callback(_drop_log))
    llama_cpp.llama_log_set(_QUIET[0], ctypes.c_void_p(0))  # a line per tensor otherwise
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FILE_TYPES[kind]
    params.nthread = 0
    failed = llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), ctypes.byref(params)
    )
    if failed:
        raise RuntimeError(f"llama.cpp could not quantize {source} to {kind}")
    return target


def _drop_log(level: int, text: bytes, user_data: object) -> None:
    pass


_QUIET: list = []  # the C callback must outlive the call that installs it
