"""Tiny randomly initialised BART, T5, Llama and Qwen2 models with a tokenizer trained here,
saved to disk and loaded back through the same code path as a real model. The causal LMs
carry a chat template like their real counterparts (Qwen2's ChatML with Qwen3's switch for
thinking; Llama 3's headers)."""

from __future__ import annotations

from pathlib import Path

from briefbot.articles.importer import SAMPLES_DIR

SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<mask>"]


def _corpus() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SAMPLES_DIR.glob("*.md"))]


def train_tokenizer(kind: str, max_length: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL, show_progress=False)
    tokenizer.train_from_iterator(_corpus(), trainer)
    if kind == "bart":
        template = processors.TemplateProcessing(
            single="<s> $A </s>",
            special_tokens=[
                ("<s>", tokenizer.token_to_id("<s>")),
                ("</s>", tokenizer.token_to_id("</s>")),
            ],
        )
    else:
        template = processors.TemplateProcessing(
            single="$A </s>", special_tokens=[("</s>", tokenizer.token_to_id("</s>"))]
        )
    tokenizer.post_processor = template
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=max_length,
    )


def build_bart(folder: Path) -> Path:
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, GenerationConfig

    tokenizer = train_tokenizer("bart", 64)
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    model = BartForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        num_beams=2,
        max_length=20,
        min_length=5,
        no_repeat_ngram_size=3,
        length_penalty=2.0,
        early_stopping=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_t5(folder: Path) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = train_tokenizer("t5", 64)
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_decoder_layers=1,
        num_heads=2,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        task_specific_params={
            "summarization": {
                "prefix": "summarize: ",
                "max_length": 24,
                "min_length": 4,
                "num_beams": 2,
                "no_repeat_ngram_size": 3,
                "length_penalty": 2.0,
                "early_stopping": True,
            }
        },
    )
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n"
    "{% endif %}{% endif %}"
)
LLAMA3 = (
    "<|begin_of_text|>{% for message in messages %}<|start_header_id|>{{ message['role'] }}"
    "<|end_header_id|>\n\n{{ message['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
CHAT_TOKENS = {
    "qwen2": ["<|im_start|>", "<|im_end|>", "<think>", "</think>"],
    "llama": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
}


def build_causal(folder: Path, architecture: str = "qwen2", *, context: int = 256) -> Path:
    """A tiny chat model: `architecture` is "qwen2" or "llama"."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, PreTrainedTokenizerFast

    chat = CHAT_TOKENS[architecture]
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<unk>", *chat], show_progress=False
    )
    raw.train_from_iterator(_corpus(), trainer)
    eos = "<|im_end|>" if architecture == "qwen2" else "<|eot_id|>"
    bos = None if architecture == "qwen2" else "<|begin_of_text|>"  # as in the real ones
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token=bos, eos_token=eos, pad_token="<pad>", unk_token="<unk>",
        model_max_length=context,
    )  # fmt: skip
    tokenizer.chat_template = CHATML if architecture == "qwen2" else LLAMA3
    sizes = dict(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=context,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    if architecture == "qwen2":
        from transformers import Qwen2Config, Qwen2ForCausalLM

        model = Qwen2ForCausalLM(Qwen2Config(**sizes))
    else:
        from transformers import LlamaConfig, LlamaForCausalLM

        model = LlamaForCausalLM(LlamaConfig(**sizes))
    # Random weights end early or never; a few new tokens at least keep every answer
    # non-empty, and greedy decoding keeps it the same each time.
    model.generation_config = GenerationConfig(
        do_sample=False,
        min_new_tokens=6,
        repetition_penalty=1.5,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
