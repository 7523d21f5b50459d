"""Summarizers (embedded extractive, Hugging Face seq2seq and instruct LLMs, CTranslate2) and the
object that owns the loaded model."""

from briefbot.models.base import Document, ModelLoadError, Summarizer, SummaryLength
from briefbot.models.owner import ModelOwner
from briefbot.models.registry import EMBEDDED_MODEL, load_summarizer
from briefbot.models.runtime import RuntimeOptions
from briefbot.models.seq2seq import GenerationOptions
from briefbot.models.served import ServerOptions

__all__ = [
    "EMBEDDED_MODEL",
    "Document",
    "GenerationOptions",
    "ModelLoadError",
    "ModelOwner",
    "RuntimeOptions",
    "ServerOptions",
    "Summarizer",
    "SummaryLength",
    "load_summarizer",
]
