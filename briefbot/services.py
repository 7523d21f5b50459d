"""The composition root: every long-lived object of a Briefbot process, built once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from briefbot.articles import Feeds, Library, TextLimits
from briefbot.articles.meaning import Encode, EncoderUnavailable, Meanings
from briefbot.chats import Admins, Chats, Deliveries
from briefbot.config import ModelSettings, Settings
from briefbot.coordination import Inbox, Instances, SummaryJobs
from briefbot.database import Database, StoreError
from briefbot.models import ModelLoadError, ModelOwner, Summarizer, load_summarizer
from briefbot.models.embedded import EmbeddedSummarizer, SentenceEncoder, bundled_model_path
from briefbot.summaries import BackgroundSummaries, SummaryService

logger = logging.getLogger(__name__)


def load_model(settings: ModelSettings, spec: str | None = None) -> Summarizer:
    """The configured model (or `spec`) with the configured runtime and generation settings;
    raises ModelLoadError."""
    return load_summarizer(
        spec or settings.model,
        threads=settings.model_threads,
        models_dir=settings.models_dir,
        runtime=settings.runtime_options(),
        generation=settings.generation_options(),
        server=settings.server_options(),
    )


def encoder_loader(settings: ModelSettings, owner: ModelOwner | None) -> Callable[[], Encode]:
    """The sentence encoder for articles' meanings: the embedded summarizer's when it is the
    model, else the same bundled model loaded on first use; raises EncoderUnavailable."""

    def load() -> Encode:
        summarizer = owner.summarizer if owner is not None else None
        if isinstance(summarizer, EmbeddedSummarizer):
            return summarizer.encoder.encode
        try:
            return SentenceEncoder(bundled_model_path(), threads=settings.model_threads).encode
        except ModelLoadError as exc:
            raise EncoderUnavailable(str(exc)) from exc

    return load


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    library: Library
    feeds: Feeds
    chats: Chats
    admins: Admins
    deliveries: Deliveries
    instances: Instances
    inbox: Inbox
    jobs: SummaryJobs
    summaries: SummaryService
    meanings: Meanings
    owner: ModelOwner | None = None
    background: BackgroundSummaries | None = None
    # Set when an article is stored: its vector is wanted (see bot.app.fill_vectors).
    vectors_wanted: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def open(
        cls, settings: Settings, *, role: str, summarizer: Summarizer | None = None
    ) -> Services:
        """Open the database, load the model (unless a worker runs it) and register this
        instance; raises StoreError or ModelLoadError."""
        db = Database.open(settings.database_url)
        try:
            runs_model = role == "worker" or settings.summarizer == "local"
            owner = None
            if runs_model:
                owner = ModelOwner(summarizer or load_model(settings))
            library = Library(db, TextLimits(max_chars=settings.max_article_chars))
            instances = Instances(db, role=role, lease_seconds=settings.instance_lease_seconds)
            if owner is not None:
                instances.model = owner.name
                instances.writes_any_language = owner.summarizer.writes_any_language
            instances.register()
        except BaseException:
            db.close()
            raise
        jobs = SummaryJobs(db, instances)
        summaries = SummaryService(
            db, library, jobs, instances, owner, wait_seconds=settings.summary_wait_seconds
        )
        # Bot processes make the articles' vectors (the worker has no reader who searches).
        meanings = Meanings(db, library, encoder_loader(settings, owner))
        background = None
        if owner is not None and (settings.precompute or role == "worker"):
            background = BackgroundSummaries(
                summaries,
                owner,
                batch_size=settings.batch_size,
                meanings=meanings if role != "worker" else None,
            )
        return cls(
            settings=settings,
            db=db,
            library=library,
            feeds=Feeds(db),
            chats=Chats(db, library),
            admins=Admins(db),
            deliveries=Deliveries(db, instances),
            instances=instances,
            inbox=Inbox(db, instances),
            jobs=jobs,
            summaries=summaries,
            meanings=meanings,
            owner=owner,
            background=background,
        )

    def article_added(self) -> None:
        self.vectors_wanted.set()
        if self.background is not None:
            self.background.notify()

    def close(self) -> None:
        if self.owner is not None:
            self.owner.close()
        try:
            self.instances.unregister()
        except StoreError as exc:
            logger.warning("Could not unregister this instance: %s", exc)
        self.db.close()
