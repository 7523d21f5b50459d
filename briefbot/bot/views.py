"""Everything the bot says: message texts (HTML, escaped). Article cards are in cards.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from briefbot.articles import Article, Feed, PollResult
from briefbot.articles.opml import ImportCounts
from briefbot.articles.text import Refusal
from briefbot.bot.i18n import (
    LANGUAGES,
    N_,
    _,
    current,
    date_time,
    fill,
    language_name,
    ngettext,
    number,
)
from briefbot.chats import ChatState, ChatTopic, Days, DigestRun, DigestSchedule
from briefbot.coordination import SummaryFailure


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 article', '2 articles' (and '0 articles'): English, for the command line."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def _intro() -> str:
    return _(
        "👋 <b>Hi, I'm Briefbot.</b>\n"
        "No time to read? I keep a library of news articles and give you a short summary of "
        "any of them, made by a model that runs right here, not by an outside AI service."
    )


def _reading_hint() -> str:
    return _("Use /summary, /next and /prev to read, /latest to pick an article, /help for more.")


def welcome(subscribed: bool, schedule: str, *, can_subscribe: bool) -> str:
    """The /start greeting; `schedule` says when the digest comes."""
    if subscribed:
        digest = fill(
            "This chat gets the morning digest at {schedule}. Change the time and zone with "
            "/digest 07:30 Europe/Berlin, or stop it with /unsubscribe.",
            schedule=escape(schedule),
        )
    elif can_subscribe:
        digest = fill(
            "/subscribe to get a morning digest here (at {schedule}).", schedule=escape(schedule)
        )
    else:
        digest = _("An admin of this group can /subscribe it to the morning digest.")
    return f"{_intro()}\n\n{digest}\n{_reading_hint()}"


def first_admin(user_id: int) -> str:
    return _(
        "🔑 <b>No admin is set up yet.</b> Your Telegram user id is <code>{id}</code>. To "
        "manage this bot (add articles and feeds), run on the server:\n"
        "<code>briefbot admins add {id}</code>"
    ).format(id=user_id)


def empty_library() -> str:
    return _("📭 There are no articles yet. An admin can add one by sending me its text.")


def caught_up() -> str:
    return _("✅ You're all caught up: this is the newest article.")


def first_article() -> str:
    return _("⏮ This is the first article: there is nothing older.")


def article_gone() -> str:
    return _("That article is no longer available. Try /latest.")


def linked_article_gone() -> str:
    return _("The article of that link is no longer in the library. Here is the newest.")


def stale_button() -> str:
    return _("This button is no longer valid. Try /latest.")


def already_shown() -> str:
    return _("That is already on the card.")


def summary_unavailable() -> str:
    return _(
        "⏳ The summary is not available yet: it is still being prepared. Try again in a minute."
    )


def not_admin() -> str:
    return _("Sorry, only the bot's admins can do that.")


def not_group_admin() -> str:
    return _("Sorry, only this group's admins can change that.")


def plain_text_hint() -> str:
    return _("I summarize the articles in my library. Try /summary, /latest or /help.")


def subscribed() -> str:
    return _("🔔 Subscribed: this chat will get the morning digest.")


def already_subscribed() -> str:
    return _("🔔 This chat is already subscribed to the morning digest.")


def unsubscribed() -> str:
    return _("🔕 Unsubscribed: no more digests in this chat. /subscribe to come back.")


def not_subscribed() -> str:
    return _("🔕 This chat is not subscribed. /subscribe to get the morning digest.")


def internal_error() -> str:
    return _("⚠️ Something went wrong on my side. Please try again.")


def flooded() -> str:
    return _(
        "⏳ That was a lot of messages at once, so I skipped some. Give me a few seconds, then "
        "send again what you need."
    )


def flooded_press() -> str:
    return _("⏳ Too many presses at once; try again in a few seconds.")


def added_to_group() -> str:
    return _(
        "👋 Hi! I keep a library of news articles and summarize them. Try /latest or /summary; "
        "an admin of this group can /subscribe it to a morning digest."
    )


def store_error(kind: str) -> str:
    if kind == "full":
        return _(
            "⚠️ I could not save that: the server's disk is full. Nothing was changed; an admin "
            "needs to free some space."
        )
    if kind == "locked":
        return _(
            "⚠️ My database is busy right now. Nothing was changed; please try again in a minute."
        )
    return _(
        "⚠️ My database is not available right now. Nothing was changed; please try again in a "
        "minute."
    )


def digest_off() -> str:
    return _(
        "🔕 No digest in this chat. Turn it on with /subscribe, or pick a time: "
        "/digest 07:30 Europe/Berlin"
    )


def digest_usage() -> str:
    return _(
        "Use /digest to see the setting, /digest 07:30 or /digest 07:30 Europe/Berlin to set "
        "it, /digest weekdays or /digest daily, and /digest off to stop."
    )


def add_usage() -> str:
    return _(
        "To add an article, send its title on the first line and the text below it, or use "
        "/add followed by the same."
    )


def schedule_text(schedule: DigestSchedule) -> str:
    """When a chat's digest comes: '07:30 Europe/Berlin, every day'."""
    if schedule.days is Days.WEEKDAYS:
        text = _("{time} {zone}, on weekdays")
    else:
        text = _("{time} {zone}, every day")
    return text.format(time=f"{schedule.at:%H:%M}", zone=schedule.zone.key)


def _in(delta_seconds: float) -> str:
    minutes = max(1, round(delta_seconds / 60))
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("in {hours} h {minutes} min").format(hours=hours, minutes=minutes)
    return _("in {minutes} min").format(minutes=minutes)


def digest_status(described: str, next_send: datetime, now: datetime, zone: ZoneInfo) -> str:
    local = next_send.astimezone(zone)
    return _("🔔 Digest: {schedule}.\nNext: {day} at {time} ({delay}).").format(
        schedule=escape(described),
        day=date_time(local, _(N_("EEEE, d MMMM"))),
        time=date_time(local, "HH:mm"),
        delay=_in((next_send - now).total_seconds()),
    )


def unknown_zone(word: str) -> str:
    return fill(
        "I don't know the time zone “{zone}”. Use an IANA name such as Europe/Berlin, "
        "America/New_York or Asia/Tokyo.",
        zone=escape(word[:64]),
    )


def bad_digest_time(word: str) -> str:
    return fill(
        "I couldn't read the time “{time}”. Use HH:MM, for example /digest 07:30.",
        time=escape(word[:32]),
    )


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
        _("<b>Briefbot statistics</b>"),
        fill("Articles: {count}", count=articles),
        fill(
            "Chats: {count} ({subscribed} subscribed to the digest)",
            count=total,
            subscribed=subscribed,
        ),
        fill("Summaries cached: {count}", count=summaries)
        + (fill(" ({failed} failed, see the log)", failed=failed) if failed else ""),
        _("Model: {model}").format(model=escape(model)),
        fill("Instances running: {count}", count=instances),
    ]
    if run is None:
        lines.append(_("Last digest run: none yet"))
    else:
        when = date_time(run.started_at.astimezone(zone), "yyyy-MM-dd HH:mm")
        seconds = number(round(run.seconds, 1))
        lines.append(
            fill(
                "Last digest run: {when} {zone}, {sent} sent, {skipped} skipped, {failed} "
                "failed, {seconds} s",
                when=when,
                zone=escape(zone.key),
                sent=run.sent,
                skipped=run.skipped,
                failed=run.failed,
                seconds=seconds,
            )
        )
    return "\n".join(lines)


def slow_down(seconds: float) -> str:
    return fill(
        "⏳ You have asked for many new summaries in a short time. Please try again in "
        "{seconds} s; summaries already made are always available.",
        seconds=max(1, round(seconds)),
    )


def help_text(commands: Sequence[tuple[str, str]], is_admin: bool) -> str:
    lines = [f"/{name} - {escape(text)}" for name, text in commands]
    text = _("<b>What I can do</b>") + "\n" + "\n".join(lines)
    if is_admin:
        text += "\n\n" + _(
            "As an admin you can also send me an article: title on the first line and the text "
            "below, a link, a document, or a forwarded post."
        )
    return text


def unknown_command(command: str) -> str:
    return _("I don't know /{command}. Here is what I can do: /help").format(
        command=escape(command)
    )


def length_usage(argument: str) -> str:
    return _("Unknown summary length “{length}”. Choose one of: short, standard, long.").format(
        length=escape(argument[:32])
    )


def length_words(length: str) -> str:
    if length == "short":
        return _("short (one sentence)")
    if length == "long":
        return _("long (about five sentences)")
    return _("standard (about three sentences)")


def length_status(length: str) -> str:
    return _(
        "Summaries in this chat are {length}. Change it with /length short, /length standard "
        "or /length long."
    ).format(length=length_words(length))


def length_set(length: str) -> str:
    return _("✅ Summaries in this chat are now {length}.").format(length=length_words(length))


def _languages() -> str:
    return "\n".join(
        f"/language {code.lower().replace('_', '-')}: {language_name(code)}" for code in LANGUAGES
    )


def language_status(chat: ChatState) -> str:
    name = language_name(current())
    if chat.language:
        said = _("🌐 I speak {language} in this chat.").format(language=name)
    elif chat.kind == "private":
        said = _("🌐 I speak {language} here, the language of your Telegram app.").format(
            language=name
        )
    else:
        said = _("🌐 I speak {language} in this group.").format(language=name)
    choose = _(
        "Choose another language (in a group, its admins can), or /language auto to follow "
        "each private chat's Telegram language:"
    )
    return f"{said}\n{choose}\n{_languages()}"


def language_set(chat: ChatState) -> str:
    name = language_name(current())
    if chat.language:
        return _("✅ From now on I speak {language} in this chat.").format(language=name)
    return _("✅ From now on I follow the language of your Telegram app ({language}).").format(
        language=name
    )


def language_usage(word: str) -> str:
    return (
        _("I don't speak “{language}” yet. I can speak:").format(language=escape(word[:32]))
        + "\n"
        + _languages()
    )


def article_added(article: Article) -> str:
    return _("✅ Added as #{id}.").format(id=article.id)


def article_duplicate(article: Article) -> str:
    return _("ℹ️ Already stored as #{id}: {title}").format(
        id=article.id, title=escape(article.title)
    )


def reason(refusal: Refusal | str) -> str:
    """Why something was refused, in the reader's language (escaped)."""
    if isinstance(refusal, Refusal):
        return escape(fill(refusal.template, **refusal.values))
    return escape(_(refusal))


def link_rejected(url: str, refusal: Refusal | str) -> str:
    shown = url if len(url) <= 80 else url[:79] + "…"
    return _("⚠️ Not added: {link}: {reason}.").format(link=escape(shown), reason=reason(refusal))


def document_kinds() -> str:
    return N_(
        "only .txt, .md, .html and .pdf documents (articles) and .opml files (feeds) can be added"
    )


def document_too_large() -> str:
    return N_("it is larger than 20 MB")


def document_rejected(name: str, refusal: Refusal | str) -> str:
    return _("⚠️ Not added: {name}: {reason}.").format(
        name=escape(name[:80]), reason=reason(refusal)
    )


def too_many_links(limit: int) -> str:
    return _("ℹ️ I take at most {limit} links per message; the rest were left out.").format(
        limit=limit
    )


def article_rejected(refusal: Refusal | str) -> str:
    return _("⚠️ Not added: {reason}.").format(reason=reason(refusal))


def no_such_article(article_id: int) -> str:
    return _("There is no article #{id}.").format(id=article_id)


def clip(text: str, limit: int) -> str:
    """Cut plain text so that its escaped form, plus an ellipsis, fits `limit` characters."""
    if len(escape(text)) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and (overflow := len(escape(text[:cut])) - (limit - 1)) > 0:
        cut -= overflow
    return text[: max(cut, 0)].rstrip() + "…"


ARTICLES_PAGE_SIZE = 10


def delete_usage() -> str:
    return _("Use /delete ID, for example /delete 12 (see /articles for the ids).")


def edit_usage() -> str:
    return _("Use /edit ID New title, for example /edit 12 Bridge opens at last.")


def deleted(article: Article) -> str:
    return _("🗑 Deleted #{id} {title}.").format(id=article.id, title=escape(article.title))


def deleted_notice() -> str:
    return _("Deleted")


def kept(article_id: int) -> str:
    return _("Kept #{id}.").format(id=article_id)


def admins_text(configured: set[int], added: set[int]) -> str:
    if not configured and not added:
        return _("No bot admins yet: run <code>briefbot admins add ID</code> on the server.")
    lines = [_("<b>Bot admins</b>")]
    for user_id in sorted(configured | added):
        source = "BRIEFBOT_ADMINS" if user_id in configured else "briefbot admins add"
        lines.append(f'• <a href="tg://user?id={user_id}">{user_id}</a> ({source})')
    lines.append(_("Group admins manage their own group's settings."))
    return "\n".join(lines)


def shared_article(article: Article, summary: str) -> str:
    """An article as an inline query puts it in a chat: title, summary and source."""
    lines = [f"<b>{escape(article.title)}</b>", escape(clip(summary, 3000))]
    if article.url:
        lines.append(f'<a href="{escape(article.url, quote=True)}">{_("Source")}</a>')
    return "\n".join(lines)


def search_usage() -> str:
    return _(
        'Use /search and the words to look for, for example /search bridge, or /search "new '
        'bridge" for a phrase.'
    )


def feed_usage() -> str:
    return _(
        "Use /feed add URL, /feed list or /feed remove N; /feed export sends the feeds as an "
        "OPML file, and an OPML file sent to me is imported."
    )


def opml_usage() -> str:
    return _(
        "To import feeds, send me an .opml file (as a file), or reply to one with /feed import."
    )


OPML_REASONS_SHOWN = 5


def opml_imported(name: str, counts: ImportCounts) -> str:
    lines = [
        fill(
            "📡 Feeds of {name}: {added} added, {followed} already followed, {refused} refused.",
            name=escape(name[:80]),
            added=counts.added,
            followed=counts.followed_already,
            refused=len(counts.refused),
        )
    ]
    for url, refusal in counts.refused[:OPML_REASONS_SHOWN]:
        shown = url if len(url) <= 80 else url[:79] + "…"
        lines.append(f"• {escape(shown)}: {reason(refusal)}")
    if len(counts.refused) > OPML_REASONS_SHOWN:
        lines.append(fill("… and {count} more.", count=len(counts.refused) - OPML_REASONS_SHOWN))
    if counts.left_out:
        lines.append(
            fill(
                "ℹ️ The file lists {listed} feeds; I take {limit} at a time, so {left} were left "
                "out. Send them in another file.",
                listed=counts.listed,
                limit=counts.listed - counts.left_out,
                left=counts.left_out,
            )
        )
    if counts.invalid:
        lines.append(
            ngettext(
                "ℹ️ {count} entry had no web address and was skipped.",
                "ℹ️ {count} entries had no web address and were skipped.",
                counts.invalid,
            ).format(count=number(counts.invalid))
        )
    return "\n".join(lines)


def feeds_exported(count: int) -> str:
    return ngettext(
        "📡 {count} feed, as OPML: import it into any feed reader, or send it to another "
        "Briefbot.",
        "📡 {count} feeds, as OPML: import them into any feed reader, or send them to another "
        "Briefbot.",
        count,
    ).format(count=number(count))


def feed_added(result: PollResult) -> str:
    count = len(result.added)
    text = ngettext(
        "📡 Following feed #{id} <b>{name}</b>: {count} new article",
        "📡 Following feed #{id} <b>{name}</b>: {count} new articles",
        count,
    ).format(
        id=result.feed.id, name=escape(result.feed.title or result.feed.url), count=number(count)
    )
    if result.duplicates:
        text += fill(", {count} already stored", count=result.duplicates)
    if result.skipped:
        text += fill(", {count} skipped", count=len(result.skipped))
    return text + "."


def feed_exists(feed_id: int) -> str:
    return _("Already following this feed as #{id}.").format(id=feed_id)


def feed_list(feeds: list[Feed]) -> str:
    if not feeds:
        return _("No feeds yet. Add one with /feed add URL.")
    lines = [_("📡 <b>Feeds</b>")]
    for feed in feeds:
        title = feed.title or _("(untitled)")
        line = f"#{feed.id} {escape(title)}: {escape(feed.url)}"
        if feed.checked_at:
            line += _(", checked {when} UTC").format(when=f"{feed.checked_at:%Y-%m-%d %H:%M}")
        if feed.last_error:
            line += f" ⚠️ {reason(Refusal.from_stored(feed.last_error))}"
        lines.append(line)
    return "\n".join(lines)


def feed_removed(feed: Feed) -> str:
    return _("Removed feed #{id} {name}.").format(id=feed.id, name=escape(feed.title or feed.url))


def no_such_feed(word: str) -> str:
    return _("There is no feed #{id}.").format(id=escape(word[:16]))


def summary_failed(failure: SummaryFailure, *, show_reason: bool = False) -> str:
    """A summary the model failed on: said plainly, with the reason for admins."""
    if failure.retry_at is not None:
        text = _(
            "⚠️ The summary of this article is not available yet: the summarizer failed on it. "
            "It will be tried again later."
        )
    else:
        text = _(
            "⚠️ The summary of this article is not available yet: the summarizer failed on it. "
            "It will not be tried again automatically."
        )
    if show_reason:
        text += (
            "\n<i>"
            + _("Reason (attempt {attempt}): {reason}").format(
                attempt=failure.attempts, reason=escape(failure.reason)
            )
            + "</i>"
        )
    return text


# -- /topics -------------------------------------------------------------------------------


def topics_usage() -> str:
    return _(
        "Topics keep your digests to what you care about:\n"
        "/topics add climate change - only articles about it (by its words or their meaning)\n"
        "/topics mute football - leave such articles out\n"
        "/topics remove 2 - forget topic 2\n"
        "/topics only on - /next and /prev keep to your topics too (/topics only off: all)"
    )


def topics_list(topics: Sequence[ChatTopic], only: bool) -> str:
    if not topics:
        return (
            _("🏷 This chat follows no topics: digests hold every new article.")
            + "\n\n"
            + (topics_usage())
        )
    lines = [_("🏷 <b>Topics of this chat</b>")]
    for at, topic in enumerate(topics, start=1):
        words = escape(topic.words)
        if topic.muted:
            lines.append(fill("{number}. 🔇 {words} (muted)", number=at, words=words))
        else:
            lines.append(f"{number(at)}. {words}")
    if only:
        lines.append(_("/next and /prev keep to these topics (/topics only off: all articles)."))
    else:
        lines.append(_("/next and /prev show every article (/topics only on: keep to these)."))
    return "\n".join(lines)


def topic_added(topic: ChatTopic) -> str:
    words = escape(topic.words)
    if topic.muted:
        return fill("🔇 Muted “{words}”: digests leave out the articles it matches.", words=words)
    return fill(
        "✅ Following “{words}”: digests hold only the articles your topics match.", words=words
    )


def topic_removed(topic: ChatTopic) -> str:
    return fill("🗑 Topic “{words}” removed.", words=escape(topic.words))


def no_such_topic(given: str) -> str:
    return fill(
        "There is no topic “{given}”. /topics lists them with their numbers.",
        given=escape(given[:32]),
    )


def too_many_topics() -> str:
    return _("This chat has 20 topics, the most it may have. /topics remove N makes room.")


def topics_only(on: bool) -> str:
    if on:
        return _("✅ /next and /prev now keep to this chat's topics.")
    return _("✅ /next and /prev now show every article.")
