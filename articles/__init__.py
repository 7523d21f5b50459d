"""Article store and ingestion: where articles, chats and cached summaries live."""

from briefbot.articles.records import AddResult, Article, ChatState, ImportReport
from briefbot.articles.store import ArticleStore, StoreError
from briefbot.articles.text import ArticleRejected, TextLimits

__all__ = [
    "AddResult",
    "Article",
    "ArticleRejected",
    "ArticleStore",
    "ChatState",
    "ImportReport",
    "StoreError",
    "TextLimits",
]
