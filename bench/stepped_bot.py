"""The floor bot with Briefbot's parts added one at a time, for `bench/replies.py --steps`.

    python bench/stepped_bot.py TOKEN API_URL STEP   (BRIEFBOT_* settings from the environment)

Every step answers /summary and keeps the steps before it:

- floor: a python-telegram-bot Application that sends a constant (as bench/replies.py's floor);
- loaded: the same, in a process that has opened Briefbot's services (database, model) and
  loaded its sentence encoder;
- bot: Briefbot's Bot (its connection pool, defaults and rate limiter);
- order: Briefbot's update processor (each chat's updates in order);
- intake: each getUpdates batch stored in the inbox before it is confirmed;
- view: the chat, its article and the cached summary read in one transaction (a Turn);
- card: the article's card sent instead of the constant;
- finish: the chat's new place and the done mark written after the reply.
"""

from __future__ import annotations

import sys
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, ExtBot

STEPS = ["floor", "loaded", "bot", "order", "intake", "view", "card", "finish"]


def main() -> None:
    token, api_url, step = sys.argv[1:4]
    steps = set(STEPS[: STEPS.index(step) + 1])
    bot: ExtBot[Any] | None = None
    if "loaded" in steps:
        from briefbot.bot.app import make_bot
        from briefbot.bot.cards import article_card
        from briefbot.bot.turn import CURRENT, Turn
        from briefbot.bot.updates import (
            ButtonAnswers,
            ChatOrderProcessor,
            FloodGate,
            Intake,
        )
        from briefbot.config import load_settings
        from briefbot.services import Services, encoder_loader

        settings = load_settings()
        services = Services.open(settings, role="polling")
        encoder_loader(settings, services.owner)()(["A sentence to encode."])
    if "bot" in steps:
        bot = make_bot(settings)
        if "intake" in steps:
            gate = FloodGate(settings.user_messages_per_minute)
            bot.take_updates_through(Intake(services.inbox, services.chats, gate, bot))

    async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        if "view" not in steps:
            await context.bot.send_message(chat_id, "A constant summary.")
            return
        turn = Turn(services, update)
        view = await turn.view(CURRENT)
        if view.article is None:
            raise RuntimeError("the bench's article is missing")
        if view.summary is None:  # the warm-up's first request: made once, cached after
            await services.summaries.summary_for(view.article, view.length)
        if "card" in steps:
            card = article_card(
                view.article,
                summary=view.summary or "",
                length=view.length,
                bot_username=context.bot.username,
            )
            await context.bot.send_message(chat_id, card.text, reply_markup=card.keyboard)
        else:
            await context.bot.send_message(chat_id, "A constant summary.")
        if "finish" in steps:
            turn.move_to(view.article.id)
            await turn.finish()

    builder = ApplicationBuilder()
    builder = builder.bot(bot) if bot is not None else builder.token(token).base_url(api_url)
    if "order" in steps and bot is not None:
        builder = builder.concurrent_updates(ChatOrderProcessor(ButtonAnswers(bot), None))
    else:
        builder = builder.concurrent_updates(True)
    application = builder.build()
    application.add_handler(CommandHandler("summary", summary))
    application.run_polling(poll_interval=0, timeout=10)


if __name__ == "__main__":
    main()
