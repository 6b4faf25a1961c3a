"""Building the parts under test the way production does (newsbot.wiring), sharing one loaded model."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from index.embeddings import Embedder
from index.indexer import IngestReport
from wiring.parts import Wiring
from wiring.settings import DEFAULT_EMBEDDING_MODEL, Settings

CITATION_KEYS = ["n", "article_id", "title", "source", "url", "published", "passage", "sentences"]  # answers' JSON


@cache
def shared_embedder() -> Embedder:
    return Embedder(DEFAULT_EMBEDDING_MODEL)


def sentence_transformer_modules():
    """sentence-transformers' module classes (Pooling, Dense, Normalize) where the installed version keeps them:
    5.7 moved them, and the old `sentence_transformers.models` warns (a DeprecationWarning fails the suite)."""
    try:
        from sentence_transformers.sentence_transformer import modules
    except ImportError:  # before 5.7
        from sentence_transformers import models as modules
    return modules


def test_settings(directory: Path, **overrides) -> Settings:
    """Settings with the index and the bot state in `directory`, nothing read from .env."""
    return Settings(_env_file=None, index_dir=directory / "index", bot_state_path=directory / "bot.sqlite", **overrides)


class Clock:
    """A stopped clock that a test moves on."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def wire(settings: Settings, now: datetime | Clock | None = None, creates_index: bool = True) -> Wiring:
    """The production wiring of `settings`, with the shared model, its clock stopped at `now` when given (or
    the Clock given)."""
    clock = now if isinstance(now, Clock) else (lambda: now) if now else None
    return Wiring(settings, creates_index=creates_index, clock=clock, embedder=shared_embedder())


def index_items(settings: Settings, items: list, **wiring_options) -> IngestReport:
    """Indexes files, folders and URLs as `newsbot index add` does."""
    wiring = wire(settings, **wiring_options)
    return wiring.indexer.add(wiring.read_sources([str(item) for item in items]))


def on_postgres(settings: Settings, database_url: str) -> Settings:
    """`settings` with the index and the bot state in PostgreSQL: the SQLite index copied there as
    `newsbot index migrate` does (no re-embedding)."""
    from index.postgres import PostgresStore
    from index.postgres.copy import copy_index

    store = PostgresStore(database_url, create=True)
    try:
        copy_index(settings.index_dir, store)
    finally:
        store.close()
    return settings.model_copy(update={"database_url": database_url})
