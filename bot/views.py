"""Everything the bot says: message texts, article cards and keyboards (HTML, escaped)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from briefbot.articles import Article
from briefbot.articles.feeds import Feed, PollResult
from briefbot.articles.records import DigestRun, StoreStats
from briefbot.articles.summary_jobs import SummaryFailure
from briefbot.articles.text import reading_minutes
from briefbot.bot.callbacks import Action, encode
from briefbot.bot.commands import COMMANDS, PUBLIC_COMMANDS
from briefbot.models import SummaryLength

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
BUTTON_TITLE_CHARS = 60

_INTRO = (
    "👋 <b>Hi, I'm Briefbot.</b>\n"
    "No time to read? I keep a library of news articles and give you a short summary of "
    "any of them, made by a model that runs right here, not by an outside AI service.\n\n"
)
_READING_HINT = (
    "Use /summary, /next and /prev to read, /latest to pick an article, /help for more."
)
WELCOME = (
    _INTRO
    + "This chat is now subscribed to the morning digest (/unsubscribe to stop). "
    + _READING_HINT
)


def welcome_unsubscribed() -> str:
    return (
        _INTRO + "An admin of this group can /subscribe it to the morning digest. " + _READING_HINT
    )


EMPTY_STORE = "📭 There are no articles yet. An admin can add one by sending me its text."
CAUGHT_UP = "✅ You're all caught up: this is the newest article."
FIRST_ARTICLE = "⏮ This is the first article: there is nothing older."
ARTICLE_GONE = "That article is no longer available. Try /latest."
STALE_BUTTON = "This button is no longer valid. Try /latest."
SUMMARY_UNAVAILABLE = (
    "⏳ The summary is not available yet: it is still being prepared. Try again in a minute."
)
NOT_ADMIN = "Sorry, only the bot's admins can add articles."
NOT_GROUP_ADMIN = "Sorry, only this group's admins can change that."
PLAIN_TEXT_HINT = "I summarize the articles in my library. Try /summary, /latest or /help."
SUBSCRIBED = "🔔 Subscribed: this chat will get the morning digest."
ALREADY_SUBSCRIBED = "🔔 This chat is already subscribed to the morning digest."
UNSUBSCRIBED = "🔕 Unsubscribed: no more digests in this chat. /subscribe to come back."
NOT_SUBSCRIBED = "🔕 This chat is not subscribed. /subscribe to get the morning digest."
INTERNAL_ERROR = "⚠️ Something went wrong on my side. Please try again."
STORE_ERRORS = {
    "full": "⚠️ I could not save that: the server's disk is full. Nothing was changed; "
    "an admin needs to free some space.",
    "locked": "⚠️ My database is busy right now. Nothing was changed; please try again in a "
    "minute.",
    "unavailable": "⚠️ My database is not available right now. Nothing was changed; please try "
    "again in a minute.",
}


def store_error(kind: str) -> str:
    return STORE_ERRORS.get(kind, STORE_ERRORS["unavailable"])


DIGEST_OFF = (
    "🔕 No digest in this chat. Turn it on with /subscribe, or pick a time: "
    "/digest 07:30 Europe/Berlin"
)
DIGEST_USAGE = (
    "Use /digest to see the setting, /digest 07:30 or /digest 07:30 Europe/Berlin to set it, "
    "/digest weekdays or /digest daily, and /digest off to stop."
)
NOT_ADMIN_DIGEST = "Sorry, only the bot's admins can send a digest on demand."
NOT_ADMIN_STATS = "Sorry, only the bot's admins can see the statistics."
ADD_USAGE = (
    "To add an article, send its title on the first line and the text below it, "
    "or use /add followed by the same."
)


def _in(delta_seconds: float) -> str:
    minutes = max(1, round(delta_seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"in {hours} h {minutes} min" if hours else f"in {minutes} min"


def digest_status(described: str, next_send: datetime, now: datetime, zone: ZoneInfo) -> str:
    local = next_send.astimezone(zone)
    return (
        f"🔔 Digest: {escape(described)}.\n"
        f"Next: {local:%A}, {local.day} {local:%B} at {local:%H:%M} "
        f"({_in((next_send - now).total_seconds())})."
    )


def unknown_zone(word: str) -> str:
    return (
        f"I don't know the time zone {escape(word[:64])!r}. Use an IANA name such as "
        "Europe/Berlin, America/New_York or Asia/Tokyo."
    )


def bad_digest_time(word: str) -> str:
    return f"I couldn't read the time {escape(word[:32])!r}. Use HH:MM, for example /digest 07:30."


def stats_text(stats: StoreStats, model: str, run: DigestRun | None, zone: ZoneInfo) -> str:
    lines = [
        "<b>Briefbot statistics</b>",
        f"Articles: {stats.articles}",
        f"Chats: {stats.chats} ({stats.subscribers} subscribed to the digest)",
        f"Summaries cached: {stats.summaries}"
        + (f" ({stats.summaries_failed} failed, see the log)" if stats.summaries_failed else ""),
        f"Model: {escape(model)}",
        f"Instances running: {stats.instances}",
    ]
    if run is None:
        lines.append("Last digest run: none yet")
    else:
        when = run.started_at.astimezone(zone)
        lines.append(
            f"Last digest run: {when:%Y-%m-%d %H:%M} {escape(zone.key)}, {run.sent} sent, "
            f"{run.skipped} skipped, {run.failed} failed, {run.seconds:.1f} s"
        )
    return "\n".join(lines)


def slow_down(seconds: float) -> str:
    return (
        f"⏳ You have asked for many new summaries in a short time. Please try again in "
        f"{max(1, round(seconds))} s; summaries already made are always available."
    )


def help_text(is_admin: bool) -> str:
    commands = COMMANDS if is_admin else PUBLIC_COMMANDS
    lines = [f"/{c.name} - {escape(c.description)}" for c in commands]
    text = "<b>What I can do</b>\n" + "\n".join(lines)
    text += "\n\nUse /summary short or /summary long for one shorter or longer summary."
    if is_admin:
        text += (
            "\n\nAs an admin you can also send me an article: title on the first line, text below."
        )
    return text


def unknown_command(command: str) -> str:
    return f"I don't know /{escape(command)}. Here is what I can do: /help"


def length_usage(argument: str) -> str:
    choices = ", ".join(length.value for length in SummaryLength)
    return f"Unknown summary length {escape(argument)!r}. Choose one of: {choices}."


_LENGTH_WORDS = {
    "short": "short (one sentence)",
    "standard": "standard (about three sentences)",
    "long": "long (about five sentences)",
}


def length_status(length: str) -> str:
    return (
        f"Summaries in this chat are {_LENGTH_WORDS.get(length, length)}. "
        "Change it with /length short, /length standard or /length long."
    )


def length_set(length: str) -> str:
    return f"✅ Summaries in this chat are now {_LENGTH_WORDS.get(length, length)}."


def article_added(article: Article) -> str:
    return f"✅ Added as #{article.id}."


def article_duplicate(article: Article) -> str:
    return f"ℹ️ Already stored as #{article.id}: {escape(article.title)}"


def link_rejected(url: str, reason: str) -> str:
    shown = url if len(url) <= 80 else url[:79] + "…"
    return f"⚠️ Not added: {escape(shown)}: {escape(reason)}."


DOCUMENT_KINDS = "only .txt, .md, .html and .pdf documents can be added"


def document_rejected(name: str, reason: str) -> str:
    return f"⚠️ Not added: {escape(name[:80])}: {escape(reason)}."


def too_many_links(limit: int) -> str:
    return f"ℹ️ I take at most {limit} links per message; the rest were left out."


def article_rejected(reason: str) -> str:
    return f"⚠️ Not added: {escape(reason)}."


def clip(text: str, limit: int) -> str:
    """Cut plain text so that its escaped form, plus an ellipsis, fits `limit` characters."""
    if len(escape(text)) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and (overflow := len(escape(text[:cut])) - (limit - 1)) > 0:
        cut -= overflow
    return text[: max(cut, 0)].rstrip() + "…"


def article_card(article: Article, summary: str | None = None) -> str:
    header = f"<b>{escape(article.title)}</b>"
    details = [f"#{article.id}", f"{reading_minutes(article.text)} min read"]
    if article.published:
        details.insert(0, escape(article.published))
    if article.author:
        details.insert(0, f"by {escape(article.author)}")
    if article.url:
        details.insert(0, f'<a href="{escape(article.url, quote=True)}">Source</a>')
    text = f"{header}\n{' · '.join(details)}"
    if summary is not None:
        body = summary or "(This article is too short to summarize.)"
        room = TEXT_LIMIT - len(text) - len("\n\n")
        text += "\n\n" + escape(clip(body, room))
    return text


def article_keyboard(article: Article) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("◀ Previous", callback_data=encode(Action.PREV, article.id)),
                InlineKeyboardButton(
                    "Get a summary", callback_data=encode(Action.SUMMARY, article.id)
                ),
                InlineKeyboardButton("Next ▶", callback_data=encode(Action.NEXT, article.id)),
            ]
        ]
    )


def _button_title(article: Article) -> str:
    title = article.title
    if len(title) > BUTTON_TITLE_CHARS:
        title = title[: BUTTON_TITLE_CHARS - 1].rstrip() + "…"
    return f"#{article.id} {title}"


def latest_list(articles: list[Article]) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        [InlineKeyboardButton(_button_title(a), callback_data=encode(Action.OPEN, a.id))]
        for a in articles
    ]
    text = f"🗞 <b>The {len(articles)} newest articles</b>\nPick one to read its summary."
    return text, InlineKeyboardMarkup(buttons)


ARTICLES_PAGE_SIZE = 10
NOT_ADMIN_ACTION = "Sorry, only the bot's admins can do that."
DELETE_USAGE = "Use /delete ID, for example /delete 12 (see /articles for the ids)."
EDIT_USAGE = "Use /edit ID New title, for example /edit 12 Bridge opens at last."


def articles_page(
    articles: list[Article], page: int, total: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    pages = max(1, -(-total // ARTICLES_PAGE_SIZE))
    lines = [f"📚 <b>Library</b>: {total} articles, page {page + 1} of {pages}"]
    for article in articles:
        title = article.title if len(article.title) <= 70 else article.title[:69] + "…"
        lines.append(f"#{article.id} {escape(title)} <i>({escape(article.origin)})</i>")
    buttons = []
    if page > 0:
        buttons.append(
            InlineKeyboardButton("◀ Newer", callback_data=encode(Action.PAGE, page - 1))
        )
    if page + 1 < pages:
        buttons.append(
            InlineKeyboardButton("Older ▶", callback_data=encode(Action.PAGE, page + 1))
        )
    return "\n".join(lines), InlineKeyboardMarkup([buttons]) if buttons else None


def confirm_delete(article: Article) -> tuple[str, InlineKeyboardMarkup]:
    text = f"Delete #{article.id} <b>{escape(article.title)}</b>? This cannot be undone."
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🗑 Delete", callback_data=encode(Action.DELETE, article.id)),
                InlineKeyboardButton("Keep", callback_data=encode(Action.KEEP, article.id)),
            ]
        ]
    )
    return text, keyboard


def deleted(article: Article) -> str:
    return f"🗑 Deleted #{article.id} {escape(article.title)}."


def kept(article_id: int) -> str:
    return f"Kept #{article_id}."


def admins_text(user_ids: list[int]) -> str:
    if not user_ids:
        return "No bot admins are configured (BRIEFBOT_ADMINS)."
    listed = "\n".join(f'• <a href="tg://user?id={uid}">{uid}</a>' for uid in user_ids)
    return (
        f"<b>Bot admins</b> (BRIEFBOT_ADMINS)\n{listed}\n"
        "Group admins manage their own group's settings."
    )


FEED_USAGE = "Use /feed add URL, /feed list or /feed remove N."


def feed_added(result: PollResult) -> str:
    name = escape(result.feed.title or result.feed.url)
    text = f"📡 Following feed #{result.feed.id} <b>{name}</b>: {len(result.added)} new articles"
    if result.duplicates:
        text += f", {result.duplicates} already stored"
    if result.skipped:
        text += f", {len(result.skipped)} skipped"
    return text + "."


def feed_list(feeds: list[Feed]) -> str:
    if not feeds:
        return "No feeds yet. Add one with /feed add URL."
    lines = ["📡 <b>Feeds</b>"]
    for feed in feeds:
        line = f"#{feed.id} {escape(feed.title or '(untitled)')}: {escape(feed.url)}"
        if feed.checked_at:
            line += f", checked {feed.checked_at:%Y-%m-%d %H:%M} UTC"
        if feed.last_error:
            line += f" ⚠️ {escape(feed.last_error)}"
        lines.append(line)
    return "\n".join(lines)


def feed_removed(feed: Feed) -> str:
    return f"Removed feed #{feed.id} {escape(feed.title or feed.url)}."


def summary_failed(failure: SummaryFailure, *, show_reason: bool = False) -> str:
    """A summary the model failed on: said plainly, with the reason for admins."""
    text = "⚠️ The summary of this article is not available yet: the summarizer failed on it."
    if failure.retry_at is not None:
        text += " It will be tried again later."
    else:
        text += " It will not be tried again automatically."
    if show_reason:
        text += f"\n<i>Reason (attempt {failure.attempts}): {escape(failure.reason)}</i>"
    return text
