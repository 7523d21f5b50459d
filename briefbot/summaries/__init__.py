"""Summaries of stored articles: cached, made once across instances, and made in the
background before anyone asks."""

from briefbot.summaries.background import BackgroundSummaries
from briefbot.summaries.service import (
    SummaryFailed,
    SummaryOutcome,
    SummaryService,
    SummaryUnavailable,
    parse_form,
    summary_form,
)

__all__ = [
    "BackgroundSummaries",
    "SummaryFailed",
    "SummaryOutcome",
    "SummaryService",
    "SummaryUnavailable",
    "parse_form",
    "summary_form",
]
