"""The article library: articles, their cached summaries and feeds, and how articles come in
(pasted text, links, documents, feeds, imports)."""

from briefbot.articles.feeds import Feed, Feeds, PollResult, poll_feed
from briefbot.articles.fetch import FetchError, FetchLimits, fetch_page
from briefbot.articles.library import (
    AddResult,
    Article,
    Direction,
    ImportReport,
    Library,
    SearchPage,
)
from briefbot.articles.text import ArticleRejected, TextLimits

__all__ = [
    "AddResult",
    "Article",
    "ArticleRejected",
    "Direction",
    "Feed",
    "Feeds",
    "FetchError",
    "FetchLimits",
    "ImportReport",
    "Library",
    "PollResult",
    "SearchPage",
    "TextLimits",
    "fetch_page",
    "poll_feed",
]
