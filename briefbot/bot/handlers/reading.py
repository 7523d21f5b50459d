"""Reading: /start, /help, /summary, /next, /prev, /latest and the card buttons."""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError

from briefbot.articles import Article
from briefbot.articles.search import clean_query
from briefbot.bot import i18n, views
from briefbot.bot.access import can_manage_chat, is_bot_admin
from briefbot.bot.callbacks import ADMIN_ACTIONS, Action, decode
from briefbot.bot.cards import (
    SEARCH_PAGE_SIZE,
    Card,
    article_card,
    latest_list,
    related_list,
    search_results,
)
from briefbot.bot.context import BriefbotContext
from briefbot.bot.handlers import manage
from briefbot.bot.replies import edit_card, reply, reply_card, shows, thread_of
from briefbot.bot.streaming import LiveSummary
from briefbot.bot.turn import CURRENT, NEWEST, ArticleView, Target
from briefbot.chats import schedule_for
from briefbot.models import SummaryLength
from briefbot.summaries import SummaryFailed, SummaryUnavailable

logger = logging.getLogger(__name__)

LATEST_COUNT = 10
RELATED_COUNT = 5


def article_link(payload: str) -> int | None:
    """The article id of a deep link's payload (`t.me/<bot>?start=a<ID>`), or None."""
    match = re.fullmatch(r"a(\d{1,12})", payload)
    return int(match.group(1)) if match else None


async def start(update: Update, context: BriefbotContext) -> None:
    linked = article_link(context.args[0]) if context.args else None
    if linked is not None:
        await open_linked_article(update, context, linked)
        return
    services, turn = context.services, context.turn
    chat = await turn.chat()
    manager = await can_manage_chat(update, context)
    subscribed = chat.subscribed
    if manager and not subscribed:
        await services.db.run(
            services.chats.set_subscribed, chat.chat_id, True, thread_id=thread_of(update)
        )
        subscribed = True
    settings = services.settings
    schedule = views.schedule_text(schedule_for(chat, settings.digest_time, settings.timezone))
    await reply(update, context, views.welcome(subscribed, schedule, can_subscribe=manager))
    user = update.effective_user
    if chat.kind == ChatType.PRIVATE and user is not None:
        if not context.bot_data.admins.ids:
            await reply(update, context, views.first_admin(user.id))
        elif is_bot_admin(update, context):
            context.bot_data.commands.register_admin_menu(context.application, user.id)
    view = await turn.view(NEWEST, summary=False)
    if view.article is None:
        await reply(update, context, views.empty_library())
        return
    turn.move_to(view.article.id)
    await reply_card(update, context, article_card(view.article))


async def open_linked_article(update: Update, context: BriefbotContext, article_id: int) -> None:
    """A shared link: that article's card, or, when it is gone, a notice and the newest."""
    turn = context.turn
    view = await turn.view(Target(article_id=article_id), summary=False)
    if view.article is None:
        view = await turn.view(NEWEST, summary=False)
        if view.article is None:
            await reply(update, context, views.empty_library())
            return
        await reply(update, context, views.linked_article_gone())
    turn.move_to(view.article.id)
    await reply_card(update, context, article_card(view.article))


async def help_command(update: Update, context: BriefbotContext) -> None:
    admin = is_bot_admin(update, context)
    entries = context.bot_data.commands.help_entries(admin)
    await reply(update, context, views.help_text(entries, admin))


def parse_length(word: str) -> SummaryLength | None:
    try:
        return SummaryLength(word.lower())
    except ValueError:
        return None


class SlowDown(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


async def _make_summary(
    update: Update, context: BriefbotContext, article: Article, length: SummaryLength
) -> str:
    """A summary that is not cached yet: shown as the model writes it where the model can
    tell (the card then goes on that message), else "typing" while it works. Raises
    SlowDown when this user asked for too many new summaries lately."""
    user, chat = update.effective_user, update.effective_chat
    if user is not None and not is_bot_admin(update, context):
        wait = context.bot_data.quota.take(user.id)
        if wait > 0:
            raise SlowDown(wait)
    if chat is not None:
        try:
            await context.bot.send_chat_action(
                chat.id, ChatAction.TYPING, message_thread_id=thread_of(update)
            )
        except TelegramError as exc:
            logger.debug("typing indicator failed: %s", exc)
    services, language = context.services, i18n.reader_language()
    if not services.summaries.streams:
        return await services.summaries.summary_for(article, length, language=language)
    live = LiveSummary(update, context, article, length)
    try:
        return await services.summaries.summary_for(
            article, length, on_text=live.show, language=language
        )
    finally:
        shown = await live.close()
        if update.callback_query is None:
            context.live_message = shown


async def render(update: Update, context: BriefbotContext, view: ArticleView) -> Card:
    """The card of the view's article with its summary, made now if it is not cached; or
    with a notice saying why there is none."""
    article, length = view.article, view.length
    if article is None:
        raise ValueError("no article to show")
    summary = view.summary
    try:
        if summary is None:
            summary = await _make_summary(update, context, article, length)
    except SlowDown as slow:
        return article_card(article, length=length, notice=views.slow_down(slow.seconds))
    except SummaryFailed as failed:
        notice = views.summary_failed(failed.failure, show_reason=is_bot_admin(update, context))
        return article_card(article, length=length, notice=notice)
    except SummaryUnavailable:
        return article_card(article, length=length, notice=views.summary_unavailable())
    written_in = context.services.summaries.summary_language(article, i18n.reader_language())
    return article_card(
        article,
        summary=summary,
        length=length,
        summary_language=written_in,
        bot_username=context.bot.username,
    )


async def summary(update: Update, context: BriefbotContext) -> None:
    length = None
    if context.args:
        length = parse_length(context.args[0])
        if length is None:
            await reply(update, context, views.length_usage(context.args[0]))
            return
    view = await context.turn.view(CURRENT, length)
    if view.article is None:
        await reply(update, context, views.empty_library())
        return
    context.turn.move_to(view.article.id)
    await reply_card(update, context, await render(update, context, view))


async def _move(update: Update, context: BriefbotContext, target: Target) -> None:
    view = await context.turn.view(target)
    if view.base is None:
        await reply(update, context, views.empty_library())
        return
    if view.article is None:
        await reply(
            update, context, views.caught_up() if target.step == "next" else views.first_article()
        )
        return
    context.turn.move_to(view.article.id)
    await reply_card(update, context, await render(update, context, view))


async def next_article(update: Update, context: BriefbotContext) -> None:
    await _move(update, context, Target(step="next"))


async def previous_article(update: Update, context: BriefbotContext) -> None:
    await _move(update, context, Target(step="prev"))


async def latest(update: Update, context: BriefbotContext) -> None:
    services = context.services
    articles = await services.db.run(services.library.latest, LATEST_COUNT)
    if not articles:
        await reply(update, context, views.empty_library())
        return
    card = latest_list(articles)
    await reply(update, context, card.text, card.keyboard)


async def search(update: Update, context: BriefbotContext) -> None:
    """/search WORDS: the library's articles that hold them, best first, ten a page."""
    words = clean_query(" ".join(context.args or []))
    if not words:
        await reply(update, context, views.search_usage())
        return
    services = context.services
    chat = await context.turn.chat()
    await services.db.run(services.chats.set_last_search, chat.chat_id, words)
    found = await services.db.run(services.meanings.search, words, SEARCH_PAGE_SIZE, 0)
    card = search_results(words, 0, found)
    await reply(update, context, card.text, card.keyboard)


async def _search_page(update: Update, context: BriefbotContext, page: int) -> None:
    query = update.callback_query
    if query is None:
        return
    answers, services = context.bot_data.answers, context.services
    words = (await context.turn.chat()).last_search
    if not words:
        await answers.answer(query.id, views.stale_button())
        return
    page = min(page, 1_000)
    found = await services.db.run(
        services.meanings.search, words, SEARCH_PAGE_SIZE, page * SEARCH_PAGE_SIZE
    )
    card = search_results(words, page, found)
    await answers.answer(query.id)
    if not shows(update, context, card):
        await edit_card(update, context, card)


async def _related(update: Update, context: BriefbotContext, article_id: int) -> None:
    """The "Related" button: a list of the articles nearest in meaning, as a new message."""
    query = update.callback_query
    if query is None:
        return
    answers, services = context.bot_data.answers, context.services
    article = await services.db.run(services.library.get, article_id)
    if article is None:
        await answers.answer(query.id, views.article_gone())
        return
    related = await services.db.run(services.meanings.related, article_id, RELATED_COUNT)
    await answers.answer(query.id)
    card = related_list(article, related)
    await reply(update, context, card.text, card.keyboard)


async def button(update: Update, context: BriefbotContext) -> None:
    """◀ Previous, Next ▶, Get a summary, Longer summary, and the buttons of lists and
    digests. Each press changes the card, or is answered with a short notice."""
    query = update.callback_query
    if query is None:
        return
    answers = context.bot_data.answers
    press = decode(query.data)
    if press is None or update.effective_chat is None:
        await answers.answer(query.id, views.stale_button())
        return
    if press.action in ADMIN_ACTIONS:
        await manage.admin_button(update, context, press)
        return
    if press.action is Action.FOUND:
        await _search_page(update, context, press.number)
        return
    if press.action is Action.RELATED:
        await _related(update, context, press.number)
        return
    step = {Action.PREV: "prev", Action.NEXT: "next"}.get(press.action, "here")
    length = SummaryLength.LONG if press.action is Action.LONG else None
    view = await context.turn.view(Target(press.number, step), length)  # type: ignore[arg-type]
    if view.base is None:
        await answers.answer(query.id, views.article_gone())
        return
    if view.article is None:
        end = views.caught_up() if press.action is Action.NEXT else views.first_article()
        await answers.answer(query.id, end)
        return
    if view.summary is None:
        await answers.answer(query.id)  # the summary takes a moment: stop the spinner now
    card = await render(update, context, view)
    context.turn.move_to(view.article.id)
    if press.action is Action.OPEN:
        await answers.answer(query.id)
        await reply_card(update, context, card)
        return
    if shows(update, context, card):
        await answers.answer(query.id, views.already_shown())
        return
    await answers.answer(query.id)
    await edit_card(update, context, card)
