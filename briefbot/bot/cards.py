"""Article cards and the other messages with buttons.

A card moves forward as the reader asks: first the article ("No time to read? Get a
summary"), then its summary, then what is left to offer (the longer summary, the source).
No button offers what the card shows already.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from briefbot.articles import Article
from briefbot.articles.language import language_name
from briefbot.articles.library import SearchPage
from briefbot.articles.text import reading_minutes
from briefbot.bot import i18n
from briefbot.bot.callbacks import Action, encode
from briefbot.bot.i18n import _, ngettext, number
from briefbot.bot.views import ARTICLES_PAGE_SIZE, clip
from briefbot.models import SummaryLength

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
BUTTON_TITLE_CHARS = 60
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class Card:
    text: str
    keyboard: InlineKeyboardMarkup | None = None

    def plain_text(self) -> str:
        """The text as Telegram shows it (no tags): what a message's `text` holds."""
        return html.unescape(_TAG.sub("", self.text)).strip()


def _header(article: Article) -> str:
    minutes = reading_minutes(article.text, article.language)
    details = [f"#{article.id}", i18n.fill("{minutes} min read", minutes=minutes)]
    if article.language and article.language != i18n.reader_language():
        details.append(f"🌐 {escape(language_name(article.language, i18n.current()))}")
    if article.published:
        details.insert(0, escape(article.published))
    if article.author:
        details.insert(0, _("by {author}").format(author=escape(article.author)))
    if article.url:
        source = _("Source")
        details.insert(0, f'<a href="{escape(article.url, quote=True)}">{source}</a>')
    return f"<b>{escape(article.title)}</b>\n{' · '.join(details)}"


def _button(label: str, action: Action, number: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode(action, number))


def _moves(article: Article) -> list[InlineKeyboardButton]:
    return [
        _button(_("◀ Previous"), Action.PREV, article.id),
        _button(_("Next ▶"), Action.NEXT, article.id),
    ]


def article_card(
    article: Article,
    *,
    summary: str | None = None,
    length: SummaryLength = SummaryLength.STANDARD,
    notice: str | None = None,
    summary_language: str | None = None,
    bot_username: str | None = None,
) -> Card:
    """The card: the article alone, with its summary at `length`, or with a notice in place
    of a summary that cannot be had now (a "Try again" button then asks once more). A summary
    in another language than the reader's (`summary_language`) says so; with the bot's
    username, a Share button offers the article's link to other chats."""
    header = _header(article)
    previous, following = _moves(article)
    if notice is not None:
        again = _button(_("🔄 Try again"), _summary_action(length), article.id)
        return Card(f"{header}\n\n{notice}", InlineKeyboardMarkup([[previous, again, following]]))
    if summary is None:
        ask = _button(_("📝 Get a summary"), Action.SUMMARY, article.id)
        prompt = _("<i>No time to read? Get a summary.</i>")
        return Card(f"{header}\n\n{prompt}", InlineKeyboardMarkup([[previous, ask, following]]))
    body = summary or _("(This article is too short to summarize.)")
    room = TEXT_LIMIT - len(header) - len("\n\n")
    offers = []
    if length is not SummaryLength.LONG and summary:
        offers.append(_button(_("➕ Longer summary"), Action.LONG, article.id))
    if article.url:
        offers.append(InlineKeyboardButton(_("🔗 Read the article"), url=article.url))
    offers.append(_button(_("🧭 Related"), Action.RELATED, article.id))
    moves = [previous, following]
    if bot_username:
        moves.insert(1, InlineKeyboardButton(_("📤 Share"), url=share_url(article, bot_username)))
    rows = [moves, offers] if offers else [moves]
    note = language_note(summary_language) if summary else None
    if note:
        room -= len(note) + 2
    text = f"{header}\n\n{escape(clip(body, room))}" + (f"\n\n{note}" if note else "")
    return Card(text, InlineKeyboardMarkup(rows))


def deep_link(article_id: int, bot_username: str) -> str:
    """The link that opens the article's card in a private chat with the bot."""
    return f"https://t.me/{bot_username}?start=a{article_id}"


def share_url(article: Article, bot_username: str) -> str:
    """Telegram's share dialog with the article's link and title."""
    link = deep_link(article.id, bot_username)
    return "https://t.me/share/url?" + urlencode({"url": link, "text": article.title[:200]})


def language_note(summary_language: str | None) -> str | None:
    """'Summary in the article's language: Spanish.' for a summary the reader gets in
    another language than theirs (a model that cannot write theirs); None otherwise."""
    if not summary_language or summary_language == i18n.reader_language():
        return None
    name = escape(i18n.language_in_text(summary_language))
    return (
        "<i>" + _("Summary in the article's language: {language}.").format(language=name) + "</i>"
    )


def _summary_action(length: SummaryLength) -> Action:
    return Action.LONG if length is SummaryLength.LONG else Action.SUMMARY


def _button_title(article: Article) -> str:
    title = article.title
    if len(title) > BUTTON_TITLE_CHARS:
        title = title[: BUTTON_TITLE_CHARS - 1].rstrip() + "…"
    return f"#{article.id} {title}"


def latest_list(articles: list[Article]) -> Card:
    buttons = [[_button(_button_title(a), Action.OPEN, a.id)] for a in articles]
    count = len(articles)
    text = ngettext(
        "🗞 <b>The newest article</b>\nPick one to read its summary.",
        "🗞 <b>The {count} newest articles</b>\nPick one to read its summary.",
        count,
    ).format(count=number(count))
    return Card(text, InlineKeyboardMarkup(buttons))


def related_list(article: Article, related: list[Article]) -> Card:
    """The articles nearest in meaning to `article`, one button each."""
    title = escape(clip(article.title, 120))
    if not related:
        text = i18n.fill("🧭 Nothing close to <b>{title}</b> in the library yet.", title=title)
        return Card(text)
    buttons = [[_button(_button_title(a), Action.OPEN, a.id)] for a in related]
    head = i18n.fill("🧭 <b>Related to {title}</b>", title=title)
    return Card(head, InlineKeyboardMarkup(buttons))


def articles_page(articles: list[Article], page: int, total: int) -> Card:
    pages = max(1, -(-total // ARTICLES_PAGE_SIZE))
    lines = [
        ngettext(
            "📚 <b>Library</b>: {count} article, page {page} of {pages}",
            "📚 <b>Library</b>: {count} articles, page {page} of {pages}",
            total,
        ).format(count=number(total), page=number(page + 1), pages=number(pages))
    ]
    for article in articles:
        title = article.title if len(article.title) <= 70 else article.title[:69] + "…"
        lines.append(f"#{article.id} {escape(title)} <i>({escape(article.origin)})</i>")
    buttons = []
    if page > 0:
        buttons.append(_button(_("◀ Newer"), Action.PAGE, page - 1))
    if page + 1 < pages:
        buttons.append(_button(_("Older ▶"), Action.PAGE, page + 1))
    return Card("\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None)


def confirm_delete(article: Article) -> Card:
    text = _("Delete #{id} <b>{title}</b>? This cannot be undone.").format(
        id=article.id, title=escape(article.title)
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                _button(_("🗑 Delete"), Action.DELETE, article.id),
                _button(_("Keep"), Action.KEEP, article.id),
            ]
        ]
    )
    return Card(text, keyboard)


SEARCH_PAGE_SIZE = 10


def search_results(query: str, page: int, found: SearchPage) -> Card:
    """A page of /search results: one button per article (its card), and the pages around."""
    shown = escape(clip(query, 80))
    if not found.total:
        text = _("🔎 Nothing found for <b>{query}</b>. Try other words, or fewer of them.")
        return Card(text.format(query=shown))
    pages = max(1, -(-found.total // SEARCH_PAGE_SIZE))
    head = ngettext(
        "🔎 <b>{query}</b>: {count} article",
        "🔎 <b>{query}</b>: {count} articles",
        found.total,
    ).format(query=shown, count=number(found.total))
    if pages > 1:
        head += i18n.fill(" · page {page} of {pages}", page=page + 1, pages=pages)
    if found.by_meaning:
        head += "\n<i>" + _("No article holds these words; these are the closest in meaning.")
        head += "</i>"
    elif not found.every_word:
        head += "\n<i>" + _("No article holds every word; these hold some of them.") + "</i>"
    rows = [[_button(_button_title(a), Action.OPEN, a.id)] for a in found.articles]
    moves = []
    if page > 0:
        moves.append(_button(_("◀ Better matches"), Action.FOUND, page - 1))
    if page + 1 < pages:
        moves.append(_button(_("More ▶"), Action.FOUND, page + 1))
    if moves:
        rows.append(moves)
    return Card(head, InlineKeyboardMarkup(rows))
