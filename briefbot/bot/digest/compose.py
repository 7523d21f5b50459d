"""Digest messages: a header, one block per article, split at article boundaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from briefbot.articles import Article
from briefbot.bot import i18n
from briefbot.bot.callbacks import Action, encode
from briefbot.bot.cards import TEXT_LIMIT, language_note
from briefbot.bot.i18n import N_, _, format_date, ngettext
from briefbot.bot.views import clip

SUMMARY_CHARS = 600
# A CLDR date pattern, translated like a message: each language orders and inflects its own.
DAY_PATTERN = N_("EEEE, d MMMM")
BUTTONS_PER_ROW = 5


@dataclass(frozen=True, slots=True)
class DigestItem:
    article: Article
    summary: str | None
    # The language the summary is written in, when known: one that is not the reader's is
    # marked (a model that cannot write theirs).
    summary_language: str | None = None


@dataclass(frozen=True, slots=True)
class DigestMessage:
    text: str
    keyboard: InlineKeyboardMarkup | None


def _block(number: int, item: DigestItem) -> str:
    article = item.article
    lines = [f"<b>{number}. {escape(article.title)}</b>"]
    if item.summary:
        lines.append(escape(clip(item.summary, SUMMARY_CHARS)))
        note = language_note(item.summary_language)
        if note:
            lines.append(note)
    if article.url:
        link = _("Read the article")
        lines.append(f'<a href="{escape(article.url, quote=True)}">{link}</a>')
    return "\n".join(lines)


def _keyboard(numbered: list[tuple[int, Article]]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(f"📖 {number}", callback_data=encode(Action.OPEN, article.id))
        for number, article in numbered
    ]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)


def header(day: date, count: int) -> str:
    return ngettext(
        "📰 <b>Your digest for {day}</b> · {count} new article",
        "📰 <b>Your digest for {day}</b> · {count} new articles",
        count,
    ).format(day=format_date(day, _(DAY_PATTERN)), count=i18n.number(count))


def nothing_new(day: date) -> DigestMessage:
    text = _("📰 <b>Your digest for {day}</b>\nNothing new today.")
    return DigestMessage(text.format(day=format_date(day, _(DAY_PATTERN))), None)


def compose(day: date, items: list[DigestItem], limit: int = TEXT_LIMIT) -> list[DigestMessage]:
    """Messages of at most `limit` characters; a message never ends inside an article."""
    if not items:
        return [nothing_new(day)]
    messages: list[DigestMessage] = []
    text = header(day, len(items))
    numbered: list[tuple[int, Article]] = []
    for number, item in enumerate(items, start=1):
        block = _block(number, item)
        if numbered and len(text) + 2 + len(block) > limit:
            messages.append(DigestMessage(text, _keyboard(numbered)))
            text, numbered = _("📰 <i>(continued)</i>"), []
        text += "\n\n" + block
        numbered.append((number, item.article))
    messages.append(DigestMessage(text, _keyboard(numbered)))
    return messages
