"""Articles by meaning: /search when no word matches, the "Related" button, and chat topics.

Each article has one vector: the embedding of its title and lead (the first LEAD_CHARS
characters) by the sentence encoder the embedded summarizer uses (all-MiniLM-L6-v2, bundled
with the package, so it works offline), L2-normalised, stored as float16 in `article_vectors`.
Background work fills the vectors of articles without one, oldest first (`fill`), after
the summaries waiting to be made; an article
without its vector yet is found by its words only. Similarity is a dot product with every
vector, held in memory (100,000 articles: 77 MB as float16 in the table, twice that as float32
here) and read again from the table only as it grows.

A topic matches an article when the article holds every one of its words, or when their
meanings are closer than TOPIC_THRESHOLD (tuned on the dev set: bench/topics.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from briefbot.articles.library import Article, Library, SearchPage
from briefbot.articles.schema import ArticleRow, ArticleVectorRow
from briefbot.articles.search import Query
from briefbot.database import Database

logger = logging.getLogger(__name__)

# Stored with each vector: vectors of another encoder (or lead) are made again.
ENCODER = "all-MiniLM-L6-v2/lead-1000"
LEAD_CHARS = 1000
# Small, so that a reader's summary (the encoder is shared) or a stop never waits long.
FILL_BATCH = 8
# Cosine similarity above which a topic's meaning matches an article (bench/topics.py).
TOPIC_THRESHOLD = 0.30
# /search by meaning and "Related": nearest articles, none less similar than this.
NEAREST_FLOOR = 0.25
MEANING_RESULTS = 50

Encode = Callable[[Sequence[str]], np.ndarray]


class EncoderUnavailable(Exception):
    """The sentence encoder could not be loaded: meanings are not known."""


@dataclass(frozen=True, slots=True)
class Topic:
    """Words a chat follows or mutes, with their vector (None: by words only)."""

    words: str
    vector: np.ndarray | None

    @classmethod
    def stored(cls, words: str, vector: bytes | None) -> Topic:
        return cls(words, None if vector is None else unpack(vector))


def passage(title: str, text: str) -> str:
    """What an article's vector is made of: its title and lead."""
    lead = text[:LEAD_CHARS]
    return f"{title}.\n{lead}" if title else lead


class _Matrix:
    """Every stored vector, ids ascending, and what the table looked like when read."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.count = 0

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        if not len(self.ids):
            self.ids, self.vectors = ids, vectors
        else:
            self.ids = np.concatenate([self.ids, ids])
            self.vectors = np.concatenate([self.vectors, vectors])


class Meanings:
    """The library's vectors: filled in the background, searched in memory. Thread-safe."""

    def __init__(self, db: Database, library: Library, load_encoder: Callable[[], Encode]) -> None:
        self.db = db
        self.library = library
        self._load_encoder = load_encoder
        self._encode: Encode | None = None
        self._encoder_lock = threading.Lock()
        self._matrix = _Matrix()
        self._matrix_lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts` (float32); loads the encoder on first use (raises
        EncoderUnavailable)."""
        with self._encoder_lock:
            if self._encode is None:
                self._encode = self._load_encoder()
            encode = self._encode
        return np.asarray(encode(list(texts)), dtype=np.float32)

    # -- filling ----------------------------------------------------------------------------

    def fill(self, limit: int = FILL_BATCH) -> int:
        """Make the vectors of up to `limit` articles without one (oldest first); returns how
        many were stored."""
        missing = (ArticleVectorRow.article_id.is_(None)) | (ArticleVectorRow.encoder != ENCODER)
        with self.db.transaction() as session:
            rows = session.execute(
                select(ArticleRow.id, ArticleRow.title, ArticleRow.text)
                .outerjoin(ArticleVectorRow, ArticleVectorRow.article_id == ArticleRow.id)
                .where(missing)
                .order_by(ArticleRow.id)
                .limit(limit)
            ).all()
        if not rows:
            return 0
        vectors = self.encode([passage(title, text) for _, title, text in rows])
        stored = [
            {"article_id": article_id, "encoder": ENCODER, "vector": pack(vector)}
            for (article_id, _, _), vector in zip(rows, vectors, strict=True)
        ]
        ids = [row["article_id"] for row in stored]
        try:
            with self.db.transaction() as session:
                session.query(ArticleVectorRow).filter(
                    ArticleVectorRow.article_id.in_(ids)
                ).delete()
                alive = set(session.scalars(select(ArticleRow.id).where(ArticleRow.id.in_(ids))))
                kept = [row for row in stored if row["article_id"] in alive]
                if kept:
                    session.execute(
                        self.db.insert(ArticleVectorRow).on_conflict_do_nothing(
                            index_elements=["article_id"]
                        ),
                        kept,
                    )
        except IntegrityError as exc:  # an article deleted meanwhile: made again next round
            logger.info("Article vectors not stored this round: %s", exc.orig)
            return 0
        return len(kept)

    def missing(self) -> int:
        """Articles still without a vector."""
        with self.db.transaction() as session:
            articles = session.scalar(select(func.count(ArticleRow.id))) or 0
            vectors = session.scalar(
                select(func.count()).where(ArticleVectorRow.encoder == ENCODER)
            )
        return max(0, articles - (vectors or 0))

    # -- reading ----------------------------------------------------------------------------

    def _current(self) -> tuple[np.ndarray, np.ndarray]:
        """The ids and vectors, read again where the table grew (new vectors have the
        highest ids as a rule; otherwise, or after deletions, all of it)."""
        with self._matrix_lock, self.db.transaction() as session:
            mine = ArticleVectorRow.encoder == ENCODER
            count = session.scalar(select(func.count()).where(mine)) or 0
            matrix = self._matrix
            if count != matrix.count:
                last = int(matrix.ids[-1]) if len(matrix.ids) and count > matrix.count else -1
                if last < 0:
                    matrix = _Matrix()
                rows = session.execute(
                    select(ArticleVectorRow.article_id, ArticleVectorRow.vector)
                    .where(mine, ArticleVectorRow.article_id > last)
                    .order_by(ArticleVectorRow.article_id)
                ).all()
                matrix.add(*_unpack(rows))
                if len(matrix.ids) != count:  # a hole below the last id was filled
                    matrix = _Matrix()
                    rows = session.execute(
                        select(ArticleVectorRow.article_id, ArticleVectorRow.vector)
                        .where(mine)
                        .order_by(ArticleVectorRow.article_id)
                    ).all()
                    matrix.add(*_unpack(rows))
                matrix.count = count
                self._matrix = matrix
            return matrix.ids, matrix.vectors

    def vector_of(self, article_id: int) -> np.ndarray | None:
        ids, vectors = self._current()
        at = int(np.searchsorted(ids, article_id))
        return vectors[at] if at < len(ids) and ids[at] == article_id else None

    def nearest(
        self, vector: np.ndarray, limit: int, *, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """The articles closest to `vector`, closest first, none below NEAREST_FLOOR."""
        ids, vectors = self._current()
        if not len(ids):
            return []
        scores = vectors @ vector
        skip = set(exclude)
        order = np.argsort(-scores)[: limit + len(skip)]
        found = [(int(ids[i]), float(scores[i])) for i in order if scores[i] >= NEAREST_FLOOR]
        return [(i, s) for i, s in found if i not in skip][:limit]

    def similarity(self, vector: np.ndarray, article_ids: Sequence[int]) -> np.ndarray:
        """Each article's cosine similarity to `vector` (-1 for one without its vector yet)."""
        ids, vectors = self._current()
        wanted = np.asarray(article_ids, dtype=np.int64)
        found = np.full(len(wanted), -1.0, dtype=np.float32)
        if len(ids) and len(wanted):
            at = np.searchsorted(ids, wanted).clip(max=len(ids) - 1)
            known = ids[at] == wanted
            found[known] = vectors[at[known]] @ vector
        return found

    def related(self, article_id: int, limit: int = 5) -> list[Article]:
        """The articles nearest in meaning to this one (none if it has no vector yet)."""
        vector = self.vector_of(article_id)
        if vector is None:
            return []
        near = self.nearest(vector, limit, exclude=[article_id])
        return self.library.get_many([i for i, _ in near])

    def search(self, query: str, limit: int = 10, offset: int = 0) -> SearchPage:
        """Articles holding the query's words (Library.search); when none holds any, the
        MEANING_RESULTS articles nearest to its meaning."""
        found = self.library.search(query, limit, offset)
        if found.total or not Query.parse(query):
            return found
        try:
            vector = self.encode([query])[0]
        except EncoderUnavailable as exc:
            logger.error("Search by meaning unavailable: %s", exc)
            return found
        near = self.nearest(vector, MEANING_RESULTS)
        page = self.library.get_many([i for i, _ in near[offset : offset + limit]])
        return SearchPage(page, len(near), every_word=False, by_meaning=True)

    # -- topics -----------------------------------------------------------------------------

    def topic(self, words: str) -> Topic:
        """A topic with its meaning; raises EncoderUnavailable."""
        vector = self.encode([words])[0]
        return Topic(words, vector)

    def matching(
        self, topics: Sequence[Topic], article_ids: Sequence[int], session: Session | None = None
    ) -> set[int]:
        """Which of the articles some topic matches, by words or by meaning."""
        if not topics or not article_ids:
            return set()
        wanted = list(article_ids)
        found: set[int] = set()
        with self.db.transaction(session) as s:
            for topic in topics:
                found |= self.library.index.among(s, Query.parse(topic.words), wanted)
        for topic in topics:
            if topic.vector is not None:
                close = self.similarity(topic.vector, wanted) >= TOPIC_THRESHOLD
                found.update(i for i, near in zip(wanted, close, strict=True) if near)
        return found

    def keep(
        self,
        follow: Sequence[Topic],
        mute: Sequence[Topic],
        article_ids: Sequence[int],
        session: Session | None = None,
    ) -> list[int]:
        """The articles a chat's topics let through, in the order given: those some followed
        topic matches (all, when it follows none), less those a muted one matches."""
        kept = list(article_ids)
        if follow:
            matched = self.matching(follow, kept, session)
            kept = [i for i in kept if i in matched]
        if mute:
            muted = self.matching(mute, kept, session)
            kept = [i for i in kept if i not in muted]
        return kept


def _unpack(rows: Sequence[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.stack([np.frombuffer(r[1], dtype="<f2") for r in rows]).astype(np.float32)
    return ids, vectors


def pack(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f2").astype(np.float32)
