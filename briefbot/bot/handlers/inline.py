"""Inline mode: `@yourbot words` in any chat lists matching articles to share there."""

from __future__ import annotations

import logging
from functools import partial

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)

from briefbot.articles import Article, Library
from briefbot.articles.search import clean_query
from briefbot.bot import i18n, views
from briefbot.bot.cards import deep_link
from briefbot.bot.context import BriefbotContext
from briefbot.models import SummaryLength
from briefbot.models.sentences import split_sentences
from briefbot.summaries import SummaryUnavailable

logger = logging.getLogger(__name__)

PAGE_SIZE = 20  # Telegram takes at most 50; 20 keeps the answer small and quick
CACHE_SECONDS = 60  # the library changes: a short cache, shared by everyone (not personal)
MAX_OFFSET = 10_000


def _summaries(library: Library, articles: list[Article], model: str | None) -> dict[int, str]:
    """Each article's cached short summary, else its first sentence (one transaction)."""
    shown = {}
    with library.db.transaction() as session:
        for article in articles:
            cached = None
            if model is not None:
                cached = library.summary(
                    article.content_hash, model, SummaryLength.SHORT.value, session
                )
            first = split_sentences(article.text[:2000], article.language)
            shown[article.id] = cached or (first[0] if first else article.text[:200])
    return shown


async def inline_query(update: Update, context: BriefbotContext) -> None:
    query = update.inline_query
    if query is None:
        return
    services, bot = context.services, context.bot
    offset = min(int(query.offset), MAX_OFFSET) if query.offset.isdigit() else 0
    words = clean_query(query.query)
    library = services.library
    if words:
        page = await services.db.run(services.meanings.search, words, PAGE_SIZE, offset)
        articles, total = page.articles, page.total
    else:  # the newest first
        articles = await services.db.run(partial(library.latest, PAGE_SIZE, offset=offset))
        total = await services.db.run(library.count)
    try:
        model: str | None = await services.summaries.model_name()
    except SummaryUnavailable:
        model = None
    shown = await services.db.run(_summaries, library, articles, model)
    results = [
        InlineQueryResultArticle(
            id=str(article.id),
            title=article.title[:200],
            description=views.clip(shown[article.id], 200),
            input_message_content=InputTextMessageContent(
                views.shared_article(article, shown[article.id])
            ),
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton(_open_label(), url=deep_link(article.id, bot.username))]]
            )
            if bot.username
            else None,
        )
        for article in articles
    ]
    following = offset + len(articles)
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=False,
        # None, not "": python-telegram-bot 22 sends an empty next_offset as "[]", which a
        # client would send back as the offset of a page that does not exist.
        next_offset=str(following) if following < total and articles else None,
        button=InlineQueryResultsButton(text=_open_label(), start_parameter="inline"),
    )


def _open_label() -> str:
    return i18n._("📝 Open in Briefbot")
