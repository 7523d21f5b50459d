"""RSS/Atom feeds: polled with ETag/Last-Modified; each entry is stored once."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from briefbot.articles.extract import extract_article, plain_text
from briefbot.articles.fetch import FEED_TYPES, FetchError, FetchLimits, fetch_page
from briefbot.articles.language import language_code
from briefbot.articles.library import Article, Library
from briefbot.articles.schema import FeedEntryRow, FeedRow
from briefbot.articles.text import ArticleRejected, clean_url
from briefbot.database import Database, record, utcnow, valid_row_id

logger = logging.getLogger(__name__)

MAX_NEW_ENTRIES_PER_POLL = 20


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    checked_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    guid: str
    link: str | None
    title: str
    content: str
    language: str | None = None  # the entry's xml:lang, else the feed's <language>


@dataclass(slots=True)
class PollResult:
    feed: Feed
    added: list[Article] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    not_modified: bool = False


def parse_feed(body: bytes) -> tuple[str | None, list[FeedEntry]]:
    """Title and entries of an RSS or Atom document; raises FetchError if it is neither."""
    import feedparser

    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        raise FetchError("that link is not a readable RSS or Atom feed")
    feed_language = parsed.feed.get("language")
    entries = []
    for item in parsed.entries:
        link = item.get("link")
        guid = item.get("id") or link or item.get("title")
        if not guid:
            continue
        content = ""
        if item.get("content"):
            content = " ".join(part.get("value", "") for part in item["content"])
        content = content or item.get("summary", "")
        declared = [part.get("language") for part in item.get("content") or []]
        declared += [item.get("title_detail", {}).get("language"), feed_language]
        language = next((language_code(d) for d in declared if language_code(d)), None)
        entries.append(FeedEntry(str(guid)[:1024], link, item.get("title", ""), content, language))
    return parsed.feed.get("title"), entries


class Feeds:
    """The feeds the library follows and the entries already seen; blocking calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, url: str, added_by: int | None) -> tuple[Feed, bool]:
        """The feed for `url`, and whether it was new."""
        try:
            with self.db.transaction() as session:
                row = FeedRow(url=url, added_by=added_by)
                session.add(row)
                session.flush()
                return record(Feed, row), True
        except IntegrityError:
            with self.db.transaction() as session:
                existing = session.scalar(select(FeedRow).where(FeedRow.url == url))
                if existing is None:
                    raise
                return record(Feed, existing), False

    def all(self) -> list[Feed]:
        with self.db.transaction() as session:
            return [
                record(Feed, row) for row in session.scalars(select(FeedRow).order_by(FeedRow.id))
            ]

    def remove(self, feed_id: int) -> Feed | None:
        if not valid_row_id(feed_id):
            return None
        with self.db.transaction() as session:
            row = session.get(FeedRow, feed_id)
            if row is None:
                return None
            feed = record(Feed, row)
            session.execute(delete(FeedEntryRow).where(FeedEntryRow.feed_id == feed_id))
            session.delete(row)
            return feed

    def seen(self, feed_id: int) -> set[str]:
        with self.db.transaction() as session:
            query = select(FeedEntryRow.guid).where(FeedEntryRow.feed_id == feed_id)
            return set(session.scalars(query))

    def mark_seen(self, feed_id: int, guid: str, article_id: int | None) -> None:
        try:
            with self.db.transaction() as session:
                session.add(FeedEntryRow(feed_id=feed_id, guid=guid, article_id=article_id))
        except IntegrityError:
            pass  # seen by a concurrent poll

    def checked(
        self,
        feed_id: int,
        *,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
    ) -> Feed | None:
        with self.db.transaction() as session:
            row = session.get(FeedRow, feed_id)
            if row is None:  # removed while it was being read
                return None
            row.checked_at = utcnow()
            row.last_error = error
            if title:
                row.title = title[:512]
            if etag is not None or last_modified is not None:
                row.etag, row.last_modified = etag, last_modified
            session.flush()
            return record(Feed, row)


async def poll_feed(feeds: Feeds, library: Library, feed: Feed, limits: FetchLimits) -> PollResult:
    """Fetch the feed (conditionally) and store each new entry once; raises FetchError."""
    db = feeds.db
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    try:
        page = await fetch_page(feed.url, limits, accept=FEED_TYPES, headers=headers)
    except FetchError as exc:
        stored = exc.stored()
        await db.run(
            feeds.checked, feed.id, error=stored if len(stored) <= 512 else str(exc)[:512]
        )
        raise
    if page.not_modified:
        checked = await db.run(feeds.checked, feed.id)
        return PollResult(checked or feed, not_modified=True)
    title, entries = await asyncio.to_thread(parse_feed, page.body)
    result = PollResult(feed)
    seen = await db.run(feeds.seen, feed.id)
    fresh = [entry for entry in entries if entry.guid not in seen][:MAX_NEW_ENTRIES_PER_POLL]
    for entry in reversed(fresh):  # oldest first, so ids follow publication order
        article_id = await _store_entry(library, entry, limits, result)
        await db.run(feeds.mark_seen, feed.id, entry.guid, article_id)
    checked = await db.run(
        feeds.checked, feed.id, title=title, etag=page.etag, last_modified=page.last_modified
    )
    result.feed = checked or feed
    return result


async def _store_entry(
    library: Library, entry: FeedEntry, limits: FetchLimits, result: PollResult
) -> int | None:
    title, text, url, author, published = entry.title, "", clean_url(entry.link), None, None
    language = entry.language
    if url:
        try:
            page = await fetch_page(url, limits)
            article = await asyncio.to_thread(extract_article, page.body, page.url)
            title = title or article.title
            text, url = article.text, page.url
            author, published = article.author, article.published
            language = article.language or language
        except (FetchError, ArticleRejected) as exc:
            logger.info("Feed entry %s: %s; using the feed's own text", entry.link, exc)
    if not text:
        text = await asyncio.to_thread(plain_text, entry.content)
    try:
        added = await library.db.run(
            library.add,
            title or text[:80],
            text,
            url=url,
            origin="feed",
            author=author,
            published=published,
            language=language,
        )
    except ArticleRejected as exc:
        result.skipped.append((entry.title or entry.guid, str(exc)))
        return None
    if added.created:
        result.added.append(added.article)
    else:
        result.duplicates += 1
    return added.article.id
