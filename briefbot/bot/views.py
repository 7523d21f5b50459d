"""Everything the bot says: message texts (HTML, escaped). Article cards are in cards.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from briefbot.articles import Article, Feed, PollResult
from briefbot.chats import DigestRun
from briefbot.coordination import SummaryFailure
from briefbot.models import SummaryLength


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 article', '2 articles' (and '0 articles')."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def _intro() -> str:
    return (
        "👋 <b>Hi, I'm Briefbot.</b>\n"
        "No time to read? I keep a library of news articles and give you a short summary of "
        "any of them, made by a model that runs right here, not by an outside AI service.\n\n"
    )


_READING_HINT = (
    "Use /summary, /next and /prev to read, /latest to pick an article, /help for more."
)


def welcome(subscribed: bool, schedule: str, *, can_subscribe: bool) -> str:
    """The /start greeting; `schedule` says when the digest comes."""
    if subscribed:
        digest = (
            f"This chat gets the morning digest at {escape(schedule)}. Change the time and zone "
            "with /digest 07:30 Europe/Berlin, or stop it with /unsubscribe."
        )
    elif can_subscribe:
        digest = f"/subscribe to get a morning digest here (at {escape(schedule)})."
    else:
        digest = "An admin of this group can /subscribe it to the morning digest."
    return f"{_intro()}{digest}\n{_READING_HINT}"


def first_admin(user_id: int) -> str:
    return (
        "🔑 <b>No admin is set up yet.</b> Your Telegram user id is "
        f"<code>{user_id}</code>. To manage this bot (add articles and feeds), run on the "
        f"server:\n<code>briefbot admins add {user_id}</code>"
    )


EMPTY_LIBRARY = "📭 There are no articles yet. An admin can add one by sending me its text."
CAUGHT_UP = "✅ You're all caught up: this is the newest article."
FIRST_ARTICLE = "⏮ This is the first article: there is nothing older."
ARTICLE_GONE = "That article is no longer available. Try /latest."
LINKED_ARTICLE_GONE = "The article of that link is no longer in the library. Here is the newest."
STALE_BUTTON = "This button is no longer valid. Try /latest."
ALREADY_SHOWN = "That is already on the card."
SUMMARY_UNAVAILABLE = (
    "⏳ The summary is not available yet: it is still being prepared. Try again in a minute."
)
NOT_ADMIN = "Sorry, only the bot's admins can do that."
NOT_GROUP_ADMIN = "Sorry, only this group's admins can change that."
PLAIN_TEXT_HINT = "I summarize the articles in my library. Try /summary, /latest or /help."
SUBSCRIBED = "🔔 Subscribed: this chat will get the morning digest."
ALREADY_SUBSCRIBED = "🔔 This chat is already subscribed to the morning digest."
UNSUBSCRIBED = "🔕 Unsubscribed: no more digests in this chat. /subscribe to come back."
NOT_SUBSCRIBED = "🔕 This chat is not subscribed. /subscribe to get the morning digest."
INTERNAL_ERROR = "⚠️ Something went wrong on my side. Please try again."
FLOODED = (
    "⏳ That was a lot of messages at once, so I skipped some. Give me a few seconds, "
    "then send again what you need."
)
FLOODED_PRESS = "⏳ Too many presses at once; try again in a few seconds."
ADDED_TO_GROUP = (
    "👋 Hi! I keep a library of news articles and summarize them. Try /latest or /summary; "
    "an admin of this group can /subscribe it to a morning digest."
)
STORE_ERRORS = {
    "full": "⚠️ I could not save that: the server's disk is full. Nothing was changed; "
    "an admin needs to free some space.",
    "locked": "⚠️ My database is busy right now. Nothing was changed; please try again in a "
    "minute.",
    "unavailable": "⚠️ My database is not available right now. Nothing was changed; please "
    "try again in a minute.",
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


def stats_text(
    articles: int,
    chats: tuple[int, int],
    summaries: int,
    failed: int,
    model: str,
    instances: int,
    run: DigestRun | None,
    zone: ZoneInfo,
) -> str:
    total, subscribed = chats
    lines = [
        "<b>Briefbot statistics</b>",
        f"Articles: {articles:,}",
        f"Chats: {total:,} ({subscribed:,} subscribed to the digest)",
        f"Summaries cached: {summaries:,}"
        + (f" ({failed:,} failed, see the log)" if failed else ""),
        f"Model: {escape(model)}",
        f"Instances running: {instances}",
    ]
    if run is None:
        lines.append("Last digest run: none yet")
    else:
        when = run.started_at.astimezone(zone)
        lines.append(
            f"Last digest run: {when:%Y-%m-%d %H:%M} {escape(zone.key)}, {run.sent:,} sent, "
            f"{run.skipped:,} skipped, {run.failed:,} failed, {run.seconds:.1f} s"
        )
    return "\n".join(lines)


def slow_down(seconds: float) -> str:
    return (
        "⏳ You have asked for many new summaries in a short time. Please try again in "
        f"{max(1, round(seconds))} s; summaries already made are always available."
    )


def help_text(commands: Sequence[tuple[str, str]], is_admin: bool) -> str:
    lines = [f"/{name} - {escape(text)}" for name, text in commands]
    text = "<b>What I can do</b>\n" + "\n".join(lines)
    if is_admin:
        text += (
            "\n\nAs an admin you can also send me an article: title on the first line and the "
            "text below, a link, a document, or a forwarded post."
        )
    return text


def unknown_command(command: str) -> str:
    return f"I don't know /{escape(command)}. Here is what I can do: /help"


def length_usage(argument: str) -> str:
    choices = ", ".join(length.value for length in SummaryLength)
    return f"Unknown summary length {escape(argument[:32])!r}. Choose one of: {choices}."


LENGTH_WORDS = {
    "short": "short (one sentence)",
    "standard": "standard (about three sentences)",
    "long": "long (about five sentences)",
}


def length_status(length: str) -> str:
    return (
        f"Summaries in this chat are {LENGTH_WORDS.get(length, length)}. "
        "Change it with /length short, /length standard or /length long."
    )


def length_set(length: str) -> str:
    return f"✅ Summaries in this chat are now {LENGTH_WORDS.get(length, length)}."


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


def no_such_article(article_id: int) -> str:
    return f"There is no article #{article_id}."


def clip(text: str, limit: int) -> str:
    """Cut plain text so that its escaped form, plus an ellipsis, fits `limit` characters."""
    if len(escape(text)) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and (overflow := len(escape(text[:cut])) - (limit - 1)) > 0:
        cut -= overflow
    return text[: max(cut, 0)].rstrip() + "…"


ARTICLES_PAGE_SIZE = 10
DELETE_USAGE = "Use /delete ID, for example /delete 12 (see /articles for the ids)."
EDIT_USAGE = "Use /edit ID New title, for example /edit 12 Bridge opens at last."


def deleted(article: Article) -> str:
    return f"🗑 Deleted #{article.id} {escape(article.title)}."


def kept(article_id: int) -> str:
    return f"Kept #{article_id}."


def admins_text(configured: set[int], added: set[int]) -> str:
    if not configured and not added:
        return "No bot admins yet: run <code>briefbot admins add ID</code> on the server."
    lines = ["<b>Bot admins</b>"]
    for user_id in sorted(configured | added):
        source = "BRIEFBOT_ADMINS" if user_id in configured else "briefbot admins add"
        lines.append(f'• <a href="tg://user?id={user_id}">{user_id}</a> ({source})')
    lines.append("Group admins manage their own group's settings.")
    return "\n".join(lines)


FEED_USAGE = "Use /feed add URL, /feed list or /feed remove N."


def feed_added(result: PollResult) -> str:
    name = escape(result.feed.title or result.feed.url)
    added = plural(len(result.added), "new article")
    text = f"📡 Following feed #{result.feed.id} <b>{name}</b>: {added}"
    if result.duplicates:
        text += f", {result.duplicates:,} already stored"
    if result.skipped:
        text += f", {len(result.skipped):,} skipped"
    return text + "."


def feed_exists(feed_id: int) -> str:
    return f"Already following this feed as #{feed_id}."


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


def no_such_feed(word: str) -> str:
    return f"There is no feed #{escape(word[:16])}."


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
