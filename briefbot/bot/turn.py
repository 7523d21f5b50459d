"""A Turn is one update's work with the database.

It reads the chat's state once, together with what the handler needs from the library (the
article and its cached summary), in one transaction; and it writes once at the end, in one
more transaction, the chat's new place together with the mark that the update is done. So a
cached /summary costs two transactions, both on the database's threads, off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session
from telegram import Update

from briefbot.articles import Article, Direction
from briefbot.bot import i18n
from briefbot.chats import ChatRef, ChatState, ChatTopic, followed_and_muted
from briefbot.models import SummaryLength
from briefbot.services import Services
from briefbot.summaries import SummaryUnavailable, summary_form

Step = Literal["here", "next", "prev"]
# /next and /prev within a chat's topics look at this many articles at most, so many at a time.
TOPIC_SCAN = 2_000
TOPIC_WINDOW = 100


def chat_length(chat: ChatState) -> SummaryLength:
    """The chat's summary length (/length)."""
    try:
        return SummaryLength(chat.summary_length)
    except ValueError:
        return SummaryLength.STANDARD


@dataclass(frozen=True, slots=True)
class Target:
    """An article to show: `article_id` (None: the chat's current one, else the newest; or
    the newest when `newest`), or the one after or before it."""

    article_id: int | None = None
    step: Step = "here"
    newest: bool = False


CURRENT = Target()
NEWEST = Target(newest=True)


@dataclass(frozen=True, slots=True)
class ArticleView:
    chat: ChatState
    base: Article | None  # the article the step starts from (None: gone, or no articles)
    article: Article | None  # the article asked for (None: at an end of the library)
    length: SummaryLength  # the summary length asked for (or the chat's)
    summary: str | None  # the article's cached summary at that length


class Turn:
    def __init__(self, services: Services, update: Update) -> None:
        self.services = services
        self.update_id = update.update_id
        chat, user = update.effective_chat, update.effective_user
        user_language = user.language_code if user and chat and chat.type == "private" else None
        self.chat_ref = (
            ChatRef(chat.id, chat.type, chat.title or chat.username, user_language)
            if chat
            else None
        )
        self._chat: ChatState | None = None
        self._move_to: int | None = None
        self._finished = False

    async def chat(self) -> ChatState:
        """The chat's state (created on first contact), read once per update."""
        if self._chat is None:
            if self.chat_ref is None:
                raise RuntimeError("this update has no chat")
            self._chat = await self.services.db.run(self.services.chats.touch, self.chat_ref)
            i18n.use(i18n.locale_for(self._chat.locale))
        return self._chat

    async def view(
        self, target: Target, length: SummaryLength | None = None, *, summary: bool = True
    ) -> ArticleView:
        """The chat, the article asked for and its cached summary (at `length`, by default
        the chat's own), in one transaction."""
        if self.chat_ref is None:
            raise RuntimeError("this update has no chat")
        model = None
        if summary:
            try:
                model = await self.services.summaries.model_name()
            except SummaryUnavailable:
                model = None
        view = await self.services.db.run(self._load, self.chat_ref, target, length, model)
        self._chat = view.chat
        i18n.use(i18n.locale_for(view.chat.locale))
        return view

    def _load(
        self, ref: ChatRef, target: Target, length: SummaryLength | None, model: str | None
    ) -> ArticleView:
        library = self.services.library
        with self.services.db.transaction() as session:
            chat = self._chat or self.services.chats.touch(ref, session)
            base_id = target.article_id
            if base_id is None and not target.newest:
                base_id = chat.current_article_id
            base = library.get(base_id, session) if base_id is not None else None
            if base is None and target.article_id is None:
                base = library.newest(session)
            article = base
            if base is not None and target.step != "here":
                topics = (
                    self.services.chats.topics(chat.chat_id, session) if chat.follow_topics else []
                )
                if topics:
                    article = self._neighbour_on(topics, base.id, target.step, session)
                else:
                    article = library.neighbour(base.id, target.step, session)
            length = length or chat_length(chat)
            cached = None
            if article is not None and model is not None:
                reader = i18n.reader_language(i18n.locale_for(chat.locale))
                form = summary_form(length, self.services.summaries.translation(article, reader))
                cached = library.summary(article.content_hash, model, form, session)
            return ArticleView(chat, base, article, length, cached)

    def _neighbour_on(
        self, topics: list[ChatTopic], base_id: int, step: Direction, session: Session
    ) -> Article | None:
        """The nearest article that way that the chat's topics let through (looking at up
        to TOPIC_SCAN articles)."""
        follow, mute = followed_and_muted(topics)
        library, at = self.services.library, base_id
        for _ in range(TOPIC_SCAN // TOPIC_WINDOW):
            ids = library.ids_beyond(at, step, TOPIC_WINDOW, session)
            if not ids:
                return None
            kept = self.services.meanings.keep(follow, mute, ids, session)
            if kept:
                return library.get(kept[0], session)
            at = ids[-1]
        return None

    def move_to(self, article_id: int) -> None:
        """Make `article_id` the chat's current article when the update is done."""
        self._move_to = article_id

    async def finish(self) -> None:
        """Write the chat's new place and mark the update done, in one transaction."""
        if self._finished:
            return
        self._finished = True
        await self.services.db.run(self._save)

    def _save(self) -> None:
        with self.services.db.transaction() as session:
            if self._move_to is not None and self.chat_ref is not None:
                self.services.chats.set_current(self.chat_ref.chat_id, self._move_to, session)
            self.services.inbox.done(self.update_id, session)
