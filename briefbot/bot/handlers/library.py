"""Admins add articles: a link, a private message with title and text, a document, a
forwarded post, or /add anywhere. Only bot admins reach these handlers (see commands.py)."""

from __future__ import annotations

import asyncio
import logging

from telegram import (
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.constants import ChatAction

from briefbot.articles import AddResult, ArticleRejected, FetchError, fetch_page
from briefbot.articles.extract import extract_article, pdf_text
from briefbot.articles.importer import text_document
from briefbot.articles.opml import OPML_SUFFIXES
from briefbot.articles.text import split_title_and_body
from briefbot.bot import views
from briefbot.bot.cards import article_card
from briefbot.bot.context import BriefbotContext
from briefbot.bot.handlers import feeds
from briefbot.bot.handlers.reading import render
from briefbot.bot.replies import reply, reply_card, thread_of
from briefbot.bot.turn import Target

logger = logging.getLogger(__name__)

MAX_LINKS_PER_MESSAGE = 5
# A message with little text besides its links is a list of links, not an article.
LINK_MESSAGE_MAX_OTHER_CHARS = 200


def links_in(message: Message) -> list[str]:
    found: list[str] = []
    for entity, text in message.parse_entities(
        [MessageEntity.URL, MessageEntity.TEXT_LINK]
    ).items():
        url = entity.url if entity.type == MessageEntity.TEXT_LINK else text
        if url and not url.startswith(("http://", "https://")):
            url = "http://" + url
        if url and url not in found:
            found.append(url)
    return found


def is_link_message(message: Message, links: list[str]) -> bool:
    if not links:
        return False
    rest = message.text or ""
    for text in message.parse_entities([MessageEntity.URL]).values():
        rest = rest.replace(text, "")
    return len(rest.strip()) <= LINK_MESSAGE_MAX_OTHER_CHARS


async def _announce(update: Update, context: BriefbotContext, result: AddResult) -> None:
    if not result.created:
        await reply(update, context, views.article_duplicate(result.article))
        return
    user = update.effective_user
    logger.info("Admin %s added article %d", user.id if user else "?", result.article.id)
    context.services.article_added()
    await reply(update, context, views.article_added(result.article))
    view = await context.turn.view(Target(result.article.id))
    card = await render(update, context, view) if view.article else article_card(result.article)
    context.turn.move_to(result.article.id)
    await reply_card(update, context, card)


async def _store(
    context: BriefbotContext, title: str, body: str, **details: str | int | None
) -> AddResult:
    library = context.services.library
    return await context.services.db.run(library.add, title, body, **details)  # type: ignore[arg-type]


async def _add_text(update: Update, context: BriefbotContext, raw: str) -> None:
    title, body = split_title_and_body(raw)
    if not title or not body:
        await reply(update, context, views.add_usage())
        return
    user = update.effective_user
    try:
        result = await _store(
            context, title, body, added_by=user.id if user else None, origin="telegram"
        )
    except ArticleRejected as exc:
        await reply(update, context, views.article_rejected(exc))
        return
    await _announce(update, context, result)


async def _add_link(update: Update, context: BriefbotContext, url: str) -> None:
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_chat_action(
            chat.id, ChatAction.TYPING, message_thread_id=thread_of(update)
        )
    try:
        page = await fetch_page(url, context.services.settings.fetch_limits())
        article = await asyncio.to_thread(extract_article, page.body, page.url)
        user = update.effective_user
        result = await _store(
            context,
            article.title,
            article.text,
            url=page.url,
            added_by=user.id if user else None,
            origin="link",
            author=article.author,
            published=article.published,
            language=article.language,
        )
    except (FetchError, ArticleRejected) as exc:
        await reply(update, context, views.link_rejected(url, exc))
        return
    await _announce(update, context, result)


def forward_source(message: Message) -> tuple[str | None, str | None]:
    """(source name, public post link) of a forwarded post, or (None, None)."""
    origin = message.forward_origin
    if origin is None:
        return None, None
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        link = f"https://t.me/{chat.username}/{origin.message_id}" if chat.username else None
        return chat.title or chat.username, link
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title, None
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name, None
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name, None
    return None, None


async def _add_forward(update: Update, context: BriefbotContext, message: Message) -> None:
    source, link = forward_source(message)
    text = (message.text or message.caption or "").strip()
    first, rest = split_title_and_body(text)
    # A post's first line is its title when it is short enough to be one.
    title, body = (first, rest) if rest and len(first) <= 120 else (first[:80], text)
    if source:
        title = title or source
    user = update.effective_user
    try:
        result = await _store(
            context,
            title,
            body,
            url=link,
            added_by=user.id if user else None,
            origin="forward",
            author=source,
        )
    except ArticleRejected as exc:
        await reply(update, context, views.article_rejected(exc))
        return
    await _announce(update, context, result)


async def _add(update: Update, context: BriefbotContext, message: Message, raw: str) -> None:
    if message.forward_origin is not None:
        await _add_forward(update, context, message)
        return
    links = links_in(message)
    if is_link_message(message, links):
        if len(links) > MAX_LINKS_PER_MESSAGE:
            await reply(update, context, views.too_many_links(MAX_LINKS_PER_MESSAGE))
            links = links[:MAX_LINKS_PER_MESSAGE]
        for url in links:
            await _add_link(update, context, url)
        return
    await _add_text(update, context, raw)


def _command_argument(text: str) -> str:
    """Everything after the command word, keeping the line breaks."""
    parts = text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def add_command(update: Update, context: BriefbotContext) -> None:
    message = update.effective_message
    if message is not None:
        await _add(update, context, message, _command_argument(message.text or ""))


async def private_text(update: Update, context: BriefbotContext) -> None:
    """An admin's plain text in a private chat: an article, a link, a forwarded post."""
    message = update.effective_message
    if message is not None:
        await _add(update, context, message, message.text or "")


DOCUMENT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # the cloud Bot API's download limit


async def document(update: Update, context: BriefbotContext) -> None:
    """A .txt, .md, .html or .pdf file sent by an admin becomes an article; an .opml file's
    feeds are followed."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    doc = message.document
    name = doc.file_name or "document"
    if name.lower().endswith(OPML_SUFFIXES):
        await feeds.import_opml(update, context, doc)
        return
    if not name.lower().endswith(DOCUMENT_SUFFIXES):
        await reply(update, context, views.document_rejected(name, views.document_kinds()))
        return
    if doc.file_size and doc.file_size > MAX_DOCUMENT_BYTES:
        await reply(update, context, views.document_rejected(name, views.document_too_large()))
        return
    telegram_file = await doc.get_file()
    data = bytes(await telegram_file.download_as_bytearray())
    try:
        title, body, url = await _read_document(name, data)
        user = update.effective_user
        result = await _store(
            context, title, body, url=url, added_by=user.id if user else None, origin="document"
        )
    except ArticleRejected as exc:
        await reply(update, context, views.document_rejected(name, exc))
        return
    await _announce(update, context, result)


async def _read_document(name: str, data: bytes) -> tuple[str, str, str | None]:
    if not data.strip():
        raise ArticleRejected("the document is empty")
    if name.lower().endswith(".pdf"):
        title, body = split_title_and_body(await asyncio.to_thread(pdf_text, data))
        if not body:
            raise ArticleRejected("no text could be read from the PDF")
        return title, body, None
    if name.lower().endswith((".html", ".htm")):
        article = await asyncio.to_thread(extract_article, data, name)
        return article.title, article.text, None
    title, body = text_document(data)
    return title, body, None
