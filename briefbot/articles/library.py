"""The article library: articles and their cached summaries.

Each method is one short transaction, or joins the caller's (`session=`), so that another room
can read a chat, its article and the article's summary in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from briefbot.articles.language import detect_language
from briefbot.articles.schema import ArticleRow, SummaryRow
from briefbot.articles.search import Query, SearchIndex
from briefbot.articles.text import (
    ArticleRejected,
    TextLimits,
    clean_title,
    clean_url,
    content_hash,
    validate_article,
)
from briefbot.database import MAX_ROW_ID, Database, record, table_of, valid_row_id

logger = logging.getLogger(__name__)

Direction = Literal["next", "prev"]


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    title: str
    text: str
    url: str | None
    content_hash: str
    added_by: int | None
    added_at: datetime
    origin: str
    author: str | None = None
    published: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class AddResult:
    article: Article
    created: bool


@dataclass(slots=True)
class ImportReport:
    added: list[Article] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SearchPage:
    articles: list[Article]  # this page, best first
    total: int  # how many articles match in all
    every_word: bool  # False: none held every word; these hold some
    by_meaning: bool = False  # True: none held any word; these are nearest in meaning


class Library:
    def __init__(self, db: Database, limits: TextLimits | None = None) -> None:
        self.db = db
        self.limits = limits or TextLimits()
        self.index = SearchIndex(db.dialect)

    # -- articles -------------------------------------------------------------------------

    def add(
        self,
        title: str,
        text: str,
        *,
        url: str | None = None,
        added_by: int | None = None,
        origin: str = "telegram",
        author: str | None = None,
        published: str | None = None,
        language: str | None = None,
    ) -> AddResult:
        """Store an article unless the same body is stored already; raises ArticleRejected.
        `language` is the one its source declares; without it the text's is detected."""
        title, text = validate_article(title, text, self.limits)
        digest = content_hash(text)
        language = detect_language(f"{title}\n{text}", declared=language)
        try:
            with self.db.transaction() as session:
                existing = self._by_hash(session, digest)
                if existing is not None:
                    return AddResult(existing, created=False)
                row = ArticleRow(
                    title=title,
                    text=text,
                    url=clean_url(url),
                    content_hash=digest,
                    added_by=added_by,
                    origin=origin,
                    author=(author or "")[:256] or None,
                    published=(published or "")[:32] or None,
                    language=language,
                )
                session.add(row)
                session.flush()
                self.index.put(session, row.id, title, text)
                return AddResult(record(Article, row), created=True)
        except IntegrityError:
            # Another writer stored the same body between our check and our insert.
            with self.db.transaction() as session:
                stored = self._by_hash(session, digest)
            if stored is None:
                raise
            return AddResult(stored, created=False)

    @staticmethod
    def _by_hash(session: Session, digest: str) -> Article | None:
        row = session.scalar(select(ArticleRow).where(ArticleRow.content_hash == digest))
        return record(Article, row) if row else None

    def get(self, article_id: int, session: Session | None = None) -> Article | None:
        if not valid_row_id(article_id):
            return None
        with self.db.transaction(session) as s:
            found = self.db.fetch(s, _ARTICLE, article=article_id)
            return record(Article, found[0]) if found else None

    def get_many(self, article_ids: list[int]) -> list[Article]:
        """The articles that still exist, in the order asked for."""
        wanted = [i for i in article_ids if valid_row_id(i)]
        with self.db.transaction() as session:
            rows = session.scalars(select(ArticleRow).where(ArticleRow.id.in_(wanted)))
            found = {row.id: record(Article, row) for row in rows}
        return [found[i] for i in wanted if i in found]

    def count(self) -> int:
        with self.db.transaction() as session:
            return session.scalar(select(func.count(ArticleRow.id))) or 0

    def latest(
        self, limit: int = 10, session: Session | None = None, *, offset: int = 0
    ) -> list[Article]:
        """The newest articles, newest first, after skipping `offset` of them."""
        with self.db.transaction(session) as s:
            rows = s.scalars(
                select(ArticleRow).order_by(ArticleRow.id.desc()).offset(offset).limit(limit)
            )
            return [record(Article, row) for row in rows]

    def newest(self, session: Session | None = None) -> Article | None:
        """The newest article (where a chat without a place starts)."""
        with self.db.transaction(session) as s:
            found = self.db.fetch(s, _NEWEST)
            return record(Article, found[0]) if found else None

    def page(self, number: int, size: int = 10) -> list[Article]:
        """Page `number` (from 0) of the library, newest first."""
        number = max(0, min(number, MAX_ROW_ID // size))
        with self.db.transaction() as session:
            rows = session.scalars(
                select(ArticleRow).order_by(ArticleRow.id.desc()).offset(number * size).limit(size)
            )
            return [record(Article, row) for row in rows]

    def neighbour(
        self, article_id: int, direction: Direction, session: Session | None = None
    ) -> Article | None:
        """The next newer ("next") or next older ("prev") article, or None at either end."""
        article_id = max(0, min(article_id, MAX_ROW_ID))
        query = select(ArticleRow)
        if direction == "next":
            query = query.where(ArticleRow.id > article_id).order_by(ArticleRow.id.asc())
        else:
            query = query.where(ArticleRow.id < article_id).order_by(ArticleRow.id.desc())
        with self.db.transaction(session) as s:
            row = s.scalar(query.limit(1))
            return record(Article, row) if row else None

    def newest_ids_after(self, article_id: int, limit: int) -> list[int]:
        """The ids of the newest `limit` articles stored after `article_id`, newest first."""
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(ArticleRow.id)
                    .where(ArticleRow.id > article_id)
                    .order_by(ArticleRow.id.desc())
                    .limit(limit)
                )
            )

    def ids_beyond(
        self, article_id: int, direction: Direction, limit: int, session: Session | None = None
    ) -> list[int]:
        """The ids of the `limit` articles after `article_id` ("next": newer, oldest first)
        or before it ("prev": older, newest first)."""
        query = select(ArticleRow.id)
        if direction == "next":
            query = query.where(ArticleRow.id > article_id).order_by(ArticleRow.id.asc())
        else:
            query = query.where(ArticleRow.id < article_id).order_by(ArticleRow.id.desc())
        with self.db.transaction(session) as s:
            return list(s.scalars(query.limit(limit)))

    def newest_id(self, session: Session | None = None) -> int:
        with self.db.transaction(session) as s:
            return s.scalar(select(func.max(ArticleRow.id))) or 0

    def delete(self, article_id: int) -> Article | None:
        """Delete an article and its cached summaries; chats reading it lose their place."""
        if not valid_row_id(article_id):
            return None
        with self.db.transaction() as session:
            row = session.get(ArticleRow, article_id)
            if row is None:
                return None
            article = record(Article, row)
            self.index.remove(session, article_id)
            session.delete(row)
            session.execute(delete(SummaryRow).where(SummaryRow.content_hash == row.content_hash))
            return article

    def set_title(self, article_id: int, title: str) -> Article | None:
        clean = clean_title(title, self.limits)
        if not clean:
            raise ArticleRejected("the new title is empty")
        if not valid_row_id(article_id):
            return None
        with self.db.transaction() as session:
            row = session.get(ArticleRow, article_id)
            if row is None:
                return None
            row.title = clean
            self.index.put(session, article_id, clean, row.text)
            return record(Article, row)

    def search(self, query: str, limit: int = 10, offset: int = 0) -> SearchPage:
        """Articles whose title or text hold the query's words and phrases, best first (see
        search.py); never raises on what the query holds."""
        parsed = Query.parse(query)
        with self.db.transaction() as session:
            hits = self.index.find(session, parsed, limit, max(0, offset))
            rows = session.scalars(select(ArticleRow).where(ArticleRow.id.in_(hits.ids)))
            found = {row.id: record(Article, row) for row in rows}
        articles = [found[i] for i in hits.ids if i in found]
        return SearchPage(articles, hits.total, hits.every_word)

    # -- summaries ------------------------------------------------------------------------

    def summary(
        self, digest: str, model: str, length: str, session: Session | None = None
    ) -> str | None:
        with self.db.transaction(session) as s:
            found = self.db.fetch(s, _SUMMARY, digest=digest, model=model, form=length)
            return found[0]["text"] if found else None

    def save_summary(
        self, digest: str, model: str, length: str, text: str, session: Session | None = None
    ) -> None:
        with self.db.transaction(session) as s:
            row = s.get(SummaryRow, (digest, model, length))
            if row is None:
                s.add(SummaryRow(content_hash=digest, model=model, length=length, text=text))
            else:
                row.text = text

    def without_summary(
        self,
        model: str,
        length: str,
        limit: int,
        skip: Callable[[Any], ColumnElement[bool]] | None = None,
    ) -> list[int]:
        """Newest articles with no cached summary for (model, length); `skip` leaves out more,
        by a condition on the article's content hash."""
        cached = select(SummaryRow.content_hash).where(
            SummaryRow.model == model,
            SummaryRow.length == length,
            SummaryRow.content_hash == ArticleRow.content_hash,
        )
        query = select(ArticleRow.id).where(~cached.exists())
        if skip is not None:
            query = query.where(~skip(ArticleRow.content_hash))
        with self.db.transaction() as session:
            return list(session.scalars(query.order_by(ArticleRow.id.desc()).limit(limit)))

    def summary_count(self) -> int:
        with self.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(SummaryRow)) or 0


# Statements every update runs (see database.Prepared).
_ARTICLES, _SUMMARIES = table_of(ArticleRow), table_of(SummaryRow)
_ARTICLE = select(_ARTICLES).where(_ARTICLES.c.id == bindparam("article"))
_NEWEST = select(_ARTICLES).order_by(_ARTICLES.c.id.desc()).limit(1)
_SUMMARY = select(_SUMMARIES.c.text).where(
    _SUMMARIES.c.content_hash == bindparam("digest"),
    _SUMMARIES.c.model == bindparam("model"),
    _SUMMARIES.c.length == bindparam("form"),
)
