"""Full-text search over the library's titles and texts, in any script.

One index table, `article_search`, kept in step by every write of the library (in the same
transaction) and filled for older articles by migration 0010: SQLite's FTS5 (the `unicode61`
tokenizer, diacritics removed, ranked by BM25 with titles weighing five times), PostgreSQL's
`tsvector` with a GIN index (ranked by `ts_rank`, titles weighted A). Both see the same words:
text in Unicode NFKC, case-folded, and each character of scripts written without spaces
(Chinese, Japanese, Thai) as a word of its own, so that a run of them is found as a phrase.
PostgreSQL's vectors and queries are built here, word by word, so they do not depend on the
server's locale or text-search configuration.

A query is words (all must match) and "quoted phrases"; everything else in it (operators,
stars, brackets) is ignored, so no query raises. When nothing matches every word, articles
that match any of them are returned, ranked. Ranking weighs the newest RANKED_WINDOW matches
(a news library's readers want recent articles, and ranking every match of a common word in
100,000 articles costs most of a second on PostgreSQL); all matches are counted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

MAX_QUERY_CHARS = 256
MAX_GROUPS = 16
MAX_WORD_CHARS = 64
# PostgreSQL keeps positions up to 16,383; words beyond this many are left out of the index.
MAX_INDEXED_WORDS = 16_000
RANKED_WINDOW = 500

_UNSPACED = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\U00020000-\U0002fa1f]"
)
_PHRASE = re.compile(r'"([^"]*)"')
# FTS5 splits words where this module does: letters, digits and marks (Devanagari's vowel
# signs belong to their word), and takes diacritics off Latin letters only.
FTS5_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* M* Co'"


def searchable(value: str) -> str:
    """Text as the index sees it: NFKC, case-folded, characters of unspaced scripts apart."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return _UNSPACED.sub(lambda match: f" {match.group(0)} ", folded)


def _without_latin_diacritics(word: str) -> str:
    kept: list[str] = []
    for char in unicodedata.normalize("NFD", word):
        latin_base = bool(kept) and (ord(kept[-1]) < 0x250 or 0x1E00 <= ord(kept[-1]) < 0x1F00)
        if unicodedata.combining(char) and 0x300 <= ord(char) < 0x370 and latin_base:
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def words(value: str) -> list[str]:
    """The words of a text, as indexed."""
    found: list[str] = []
    current: list[str] = []
    for char in searchable(value) + " ":
        if unicodedata.category(char)[0] in "LNM" or unicodedata.category(char) == "Co":
            current.append(char)
        elif current:
            found.append(_without_latin_diacritics("".join(current))[:MAX_WORD_CHARS])
            current = []
    return found


def clean_query(raw: str) -> str:
    """A query as it may be stored and shown: no control or format characters (a NUL, a
    direction override), spaces collapsed, at most MAX_QUERY_CHARS."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in raw)
    return " ".join(kept.split())[:MAX_QUERY_CHARS]


@dataclass(frozen=True, slots=True)
class Query:
    """Groups of words: each group is a phrase (its words in order); all groups must match."""

    groups: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, raw: str) -> Query:
        raw = raw[:MAX_QUERY_CHARS]
        groups: list[tuple[str, ...]] = []
        for phrase in _PHRASE.findall(raw):
            if found := words(phrase):
                groups.append(tuple(found))
        for chunk in _PHRASE.sub(" ", raw).split():
            found = words(chunk)
            if len(found) > 1 and _UNSPACED.search(chunk):
                groups.append(tuple(found))  # a run of Chinese: a phrase of its characters
            else:
                groups.extend((word,) for word in found)
        unique = list(dict.fromkeys(groups))[:MAX_GROUPS]
        return cls(tuple(unique))

    def __bool__(self) -> bool:
        return bool(self.groups)


@dataclass(frozen=True, slots=True)
class Hits:
    ids: list[int]  # this page's articles, best first
    total: int  # how many match in all
    every_word: bool  # False: none matched every word; these match some


def _fts5(query: Query, every: bool) -> str:
    joiner = " AND " if every else " OR "
    return joiner.join('"' + " ".join(group) + '"' for group in query.groups)


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(query: Query, every: bool) -> str:
    parts = []
    for group in query.groups:
        phrase = " <-> ".join(_lexeme(word) for word in group)
        parts.append(f"({phrase})" if len(group) > 1 else phrase)
    return (" & " if every else " | ").join(parts)


def _tsvector(title: str, body: str) -> str:
    """A tsvector literal: each word with its positions, the title's weighted A."""
    positions: dict[str, list[str]] = {}
    at = 0
    for weight, value in (("A", title), ("", body)):
        for word in words(value):
            at += 1
            if at > MAX_INDEXED_WORDS:
                break
            positions.setdefault(word, []).append(f"{at}{weight}")
        at += 1  # the title and the text are not one phrase
    return " ".join(f"{_lexeme(word)}:{','.join(found)}" for word, found in positions.items())


class SearchIndex:
    """The index of one database dialect ("sqlite" or "postgresql")."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def put(self, session: Session, article_id: int, title: str, body: str) -> None:
        """Index an article (again, after its title changed)."""
        self.remove(session, article_id)
        if self.dialect == "postgresql":
            session.execute(
                text(
                    "INSERT INTO article_search (article_id, words) "
                    "VALUES (:id, CAST(:vector AS tsvector))"
                ),
                {"id": article_id, "vector": _tsvector(title, body)},
            )
        else:
            session.execute(
                text(
                    "INSERT INTO article_search (rowid, title, text) VALUES (:id, :title, :body)"
                ),
                {"id": article_id, "title": searchable(title), "body": searchable(body)},
            )

    def remove(self, session: Session, article_id: int) -> None:
        column = "article_id" if self.dialect == "postgresql" else "rowid"
        session.execute(
            text(f"DELETE FROM article_search WHERE {column} = :id"),
            {"id": article_id},
        )

    def find(self, session: Session, query: Query, limit: int, offset: int) -> Hits:
        if not query:
            return Hits([], 0, every_word=True)
        hits = self._find(session, query, limit, offset, every=True)
        if hits.total == 0 and len(query.groups) > 1:
            hits = self._find(session, query, limit, offset, every=False)
        return hits

    def _find(self, session: Session, query: Query, limit: int, offset: int, every: bool) -> Hits:
        if self.dialect == "postgresql":
            # A plan made for each query (psycopg prepares a statement run five times, and a
            # generic plan is blind to how common the words are), and never a scan of every
            # row: the planner counts `@@` as cheap, but each row's vector must be read from
            # its TOAST storage, so below some 20,000 articles it would scan them all.
            session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            session.execute(text("SET LOCAL enable_seqscan = off"))
            match = "words @@ CAST(:q AS tsquery)"
            # The matches come from the GIN index first (MATERIALIZED): left to itself, the
            # planner may walk the primary key newest first and test every row instead.
            found = (
                "WITH hits AS MATERIALIZED "
                f"(SELECT article_id FROM article_search WHERE {match}), "
                "newest AS (SELECT article_id FROM hits ORDER BY article_id DESC LIMIT :window) "
                "SELECT s.article_id FROM article_search AS s JOIN newest USING (article_id) "
                "ORDER BY ts_rank(s.words, CAST(:q AS tsquery)) DESC, s.article_id DESC "
                "LIMIT :limit OFFSET :offset"
            )
            counted = f"SELECT count(*) FROM article_search WHERE {match}"
            value = _tsquery(query, every)
        else:
            found = (
                "SELECT id FROM (SELECT rowid AS id, bm25(article_search, 5.0, 1.0) AS score "
                "FROM article_search WHERE article_search MATCH :q ORDER BY rowid DESC "
                "LIMIT :window) ORDER BY score, id DESC LIMIT :limit OFFSET :offset"
            )
            counted = "SELECT count(*) FROM article_search WHERE article_search MATCH :q"
            value = _fts5(query, every)
        window = {"q": value, "window": RANKED_WINDOW, "limit": limit, "offset": offset}
        ids = list(session.scalars(text(found), window))
        total = int(session.scalar(text(counted), {"q": value}) or 0)
        return Hits([int(i) for i in ids], total, every_word=every)

    def among(self, session: Session, query: Query, article_ids: Sequence[int]) -> set[int]:
        """Which of these articles hold every word and phrase of the query."""
        if not query or not article_ids:
            return set()
        if self.dialect == "postgresql":
            statement = text(
                "SELECT article_id FROM article_search "
                "WHERE article_id IN :ids AND words @@ CAST(:q AS tsquery)"
            )
            value = _tsquery(query, every=True)
        else:
            statement = text(
                "SELECT rowid FROM article_search WHERE article_search MATCH :q AND rowid IN :ids"
            )
            value = _fts5(query, every=True)
        statement = statement.bindparams(bindparam("ids", expanding=True))
        return {int(i) for i in session.scalars(statement, {"q": value, "ids": list(article_ids)})}
