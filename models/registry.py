"""Turn the configured model name into a loaded summarizer."""

from __future__ import annotations

import logging

from briefbot.models.base import ModelLoadError, Summarizer

logger = logging.getLogger(__name__)

EMBEDDED_MODEL = "embedded"


def load_summarizer(spec: str, *, threads: int | None = None) -> Summarizer:
    """Load the summarizer named by `spec`; raises ModelLoadError, never falls back silently."""
    if spec == EMBEDDED_MODEL:
        from briefbot.models.embedded import EmbeddedSummarizer

        summarizer = EmbeddedSummarizer.load(threads=threads)
        logger.info("Loaded summarizer %s", summarizer.name)
        return summarizer
    raise ModelLoadError(
        f"unknown model {spec!r}: this version supports only {EMBEDDED_MODEL!r} "
        "(the extractive model bundled with the package)"
    )
