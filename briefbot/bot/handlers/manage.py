"""Admins manage the library: /articles, /delete (confirmed by a button), /edit, /admins and
/stats. Only bot admins reach the commands (see commands.py); buttons check again."""

from __future__ import annotations

import logging

from telegram import Update

from briefbot.articles import ArticleRejected
from briefbot.bot import views
from briefbot.bot.access import is_bot_admin
from briefbot.bot.callbacks import Action, ButtonPress
from briefbot.bot.cards import Card, article_card, articles_page, confirm_delete
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import edit_card, reply, reply_card, shows
from briefbot.services import Services

logger = logging.getLogger(__name__)


def _number(args: list[str] | None) -> int | None:
    if not args:
        return None
    word = args[0].lstrip("#")
    return int(word) if word.isdigit() and len(word) <= 12 else None


def _page(services: Services, page: int) -> Card | None:
    total = services.library.count()
    if total == 0:
        return None
    articles = services.library.page(page, views.ARTICLES_PAGE_SIZE)
    return articles_page(articles, page, total)


async def articles(update: Update, context: BriefbotContext) -> None:
    card = await context.services.db.run(_page, context.services, 0)
    if card is None:
        await reply(update, context, views.empty_library())
        return
    await reply(update, context, card.text, card.keyboard)


async def delete(update: Update, context: BriefbotContext) -> None:
    article_id = _number(context.args)
    if article_id is None:
        await reply(update, context, views.delete_usage())
        return
    services = context.services
    article = await services.db.run(services.library.get, article_id)
    if article is None:
        await reply(update, context, views.no_such_article(article_id))
        return
    card = confirm_delete(article)
    await reply(update, context, card.text, card.keyboard)


async def edit(update: Update, context: BriefbotContext) -> None:
    article_id = _number(context.args)
    title = " ".join((context.args or [])[1:])
    if article_id is None or not title:
        await reply(update, context, views.edit_usage())
        return
    services = context.services
    try:
        article = await services.db.run(services.library.set_title, article_id, title)
    except ArticleRejected as exc:
        await reply(update, context, views.article_rejected(exc))
        return
    if article is None:
        await reply(update, context, views.no_such_article(article_id))
        return
    context.turn.move_to(article.id)
    await reply_card(update, context, article_card(article))


async def admins(update: Update, context: BriefbotContext) -> None:
    access = context.bot_data.admins
    await reply(update, context, views.admins_text(set(access.configured), access.added))


def _stats(services: Services) -> tuple[int, tuple[int, int], int, int, int]:
    return (
        services.library.count(),
        services.chats.counts(),
        services.library.summary_count(),
        services.jobs.failed_count(),
        len(services.instances.live()),
    )


async def stats(update: Update, context: BriefbotContext) -> None:
    services = context.services
    articles_, chats, summaries, failed, instances = await services.db.run(_stats, services)
    run = await services.db.run(services.deliveries.last_run)
    text = views.stats_text(
        articles_,
        chats,
        summaries,
        failed,
        services.summaries.label,
        instances,
        run,
        services.settings.zone,
    )
    await reply(update, context, text)


async def admin_button(update: Update, context: BriefbotContext, press: ButtonPress) -> None:
    """Delete / Keep / page buttons; the presser's rights are checked now, not when sent."""
    query = update.callback_query
    if query is None:
        return
    answers = context.bot_data.answers
    if not is_bot_admin(update, context):
        await answers.answer(query.id, views.not_admin())
        return
    services = context.services
    if press.action is Action.PAGE:
        card = await services.db.run(_page, services, press.number)
        if card is None or shows(update, context, card):
            await answers.answer(
                query.id, views.already_shown() if card else views.empty_library()
            )
            return
        await answers.answer(query.id)
        await edit_card(update, context, card)
        return
    if press.action is Action.KEEP:
        await answers.answer(query.id)
        card = Card(views.kept(press.number))
        if not shows(update, context, card):
            await edit_card(update, context, card)
        return
    removed = await services.db.run(services.library.delete, press.number)
    if removed is None:
        await answers.answer(query.id, views.article_gone())
        return
    logger.info("Admin deleted article %d", removed.id)
    await answers.answer(query.id, views.deleted_notice())
    await edit_card(update, context, Card(views.deleted(removed)))
