"""Summarizers and the service that owns the model's life."""

from briefbot.models.base import Document, ModelLoadError, Summarizer, SummaryLength
from briefbot.models.registry import EMBEDDED_MODEL, load_summarizer
from briefbot.models.service import SummaryFailed, SummaryService, SummaryUnavailable

__all__ = [
    "EMBEDDED_MODEL",
    "Document",
    "ModelLoadError",
    "Summarizer",
    "SummaryFailed",
    "SummaryLength",
    "SummaryService",
    "SummaryUnavailable",
    "load_summarizer",
]
