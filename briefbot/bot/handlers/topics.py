"""/topics: the words a chat follows (its digests hold only the articles they match) or mutes
(its digests leave those out), and whether /next and /prev keep to them too."""

from __future__ import annotations

from telegram import Update

from briefbot.articles.meaning import EncoderUnavailable, pack
from briefbot.articles.search import Query, clean_query
from briefbot.bot import views
from briefbot.bot.access import can_manage_chat
from briefbot.bot.context import BriefbotContext
from briefbot.bot.replies import reply
from briefbot.chats.chats import MAX_TOPIC_CHARS

ON, OFF = ("on", "yes", "true", "1"), ("off", "no", "false", "0")


async def topics_command(update: Update, context: BriefbotContext) -> None:
    """/topics; /topics add WORDS, /topics mute WORDS, /topics remove N, /topics only on|off."""
    chat = await context.turn.chat()
    services = context.services
    args = context.args or []
    if not args:
        topics = await services.db.run(services.chats.topics, chat.chat_id)
        await reply(update, context, views.topics_list(topics, chat.follow_topics))
        return
    verb, rest = args[0].lower(), clean_query(" ".join(args[1:]))
    if verb not in ("add", "mute", "remove", "only") or not rest:
        await reply(update, context, views.topics_usage())
        return
    if not await can_manage_chat(update, context):
        await reply(update, context, views.not_group_admin())
        return
    ref = context.turn.chat_ref
    if ref is None:
        return
    if verb == "only":
        follow = rest.lower() in ON
        if not follow and rest.lower() not in OFF:
            await reply(update, context, views.topics_usage())
            return
        await services.db.run(services.chats.set_follow_topics, ref, follow)
        await reply(update, context, views.topics_only(follow))
        return
    if verb == "remove":
        topics = await services.db.run(services.chats.topics, chat.chat_id)
        number = int(rest) if rest.isdigit() else 0
        if not 1 <= number <= len(topics):
            await reply(update, context, views.no_such_topic(rest))
            return
        removed = await services.db.run(
            services.chats.remove_topic, chat.chat_id, topics[number - 1].id
        )
        await reply(update, context, views.topic_removed(removed or topics[number - 1]))
        return
    words = rest[:MAX_TOPIC_CHARS]
    if not Query.parse(words):
        await reply(update, context, views.topics_usage())
        return
    vector = None  # without the encoder, a topic is matched by its words only
    try:
        meaning = (await services.db.run(services.meanings.topic, words)).vector
        vector = pack(meaning) if meaning is not None else None
    except EncoderUnavailable:
        pass
    added = await services.db.run(
        services.chats.add_topic, ref, words, muted=verb == "mute", vector=vector
    )
    if added is None:
        await reply(update, context, views.too_many_topics())
        return
    await reply(update, context, views.topic_added(added))
