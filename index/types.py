"""What the index stores and returns: articles, passages, search hits, the filters that searches apply, and what
an embedder does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class StoredArticle:
    id: str
    title: str
    source: str
    url: str | None
    published: str | None  # ISO date or datetime, when known
    added_at: str  # ISO timestamp (UTC) of when this version was indexed
    content_hash: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def outlet(self) -> str:
        """Who published it, to tell outlets apart: the source, else the URL or id."""
        return (self.source or self.url or self.id).lower()

    @property
    def published_day(self) -> date | None:
        """The publication date; None when unknown or unreadable."""
        return iso_day(self.published)

    @property
    def effective_day(self) -> date:
        """When the article counts as published: its date, else the day it was added."""
        return self.published_day or iso_day(self.added_at) or date.min


@dataclass(frozen=True)
class Passage:
    id: int
    article: StoredArticle
    ordinal: int  # position of the passage in its article, from 0
    start: int  # character span in the article text
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """A passage found by a search, with its article's id, when that counts as published, and where in it the
    passage is."""

    passage_id: int
    article_id: str
    score: float  # cosine similarity (dense) or BM25 (keyword)
    day: date | None = None  # its article's publication day, else the day it was added
    ordinal: int | None = None  # the passage's position in its article, from 0 (the lead)


@dataclass(frozen=True)
class PassageWrite:
    """A passage to store: its span in the article text, its vector and one vector per sentence of its text
    (`index.passages.sentence_spans` order), which the answerer compares with questions."""

    start: int
    end: int
    vector: np.ndarray
    sentences: np.ndarray | None = None


@dataclass(frozen=True)
class ArticleWrite:
    """An article to add, or to replace (all its passages) when one with its id exists."""

    id: str
    identity: str | None
    title: str
    source: str
    url: str | None
    published: str | None
    content_hash: str
    text: str
    extra: dict[str, Any]
    passages: list[PassageWrite]


@dataclass(frozen=True)
class Filters:
    """Which passages a search may return: of these outlets, published within [published_from,
    published_to], published no later than `until` (the clock: later articles don't exist yet), and indexed after
    the mark `added_after`. An undated article counts as published when it was added."""

    sources: tuple[str, ...] = ()
    published_from: date | None = None
    published_to: date | None = None
    until: date | None = None
    added_after: int | None = None

    def __bool__(self) -> bool:
        return any(value not in (None, ()) for value in vars(self).values())


@dataclass(frozen=True)
class Layout:
    """How the embedded store (SQLite + FAISS) splits its index into segments and searches it; PostgreSQL keeps
    its own. New passages stay in the tail (in SQLite) until `segment_passages` have gathered, then become a
    segment; `merge_factor` segments of a level are merged into one of the next, never beyond
    `largest_segment` passages; dense search is exact until the index holds `approximate_above` passages
    (then an IVF-PQ index; exact again below half of it), whose searches probe lists holding at least
    `approximate_scan` vectors (and 1/64 of the lists)."""

    segment_passages: int = 16_384
    merge_factor: int = 8
    largest_segment: int = 1 << 20
    approximate_above: int = 250_000
    approximate_scan: int = 16_000


Vectors = np.ndarray[Any, np.dtype[np.float32]]  # one L2-normalised row per text


class TextEmbedder(Protocol):
    """Texts to unit vectors (index.embeddings.Embedder is the one newsbot ships; tests may give another)."""

    @property
    def model_id(self) -> str:
        """What the index records: vectors of different model ids are never mixed."""
        ...

    @property
    def dimension(self) -> int: ...

    def prepare(self, notice: bool = False) -> Path:
        """Makes the model ready to run (a one-off export); returns where it runs from."""
        ...

    def embed(self, texts: list[str]) -> Vectors: ...

    def embed_passages(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> tuple[Vectors, list[Vectors]]:
        """Each text's vector, and one vector per (start, end) character span of it (its sentences)."""
        ...


def iso_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def day_number(day: date | None) -> int:
    """A date as an integer (days since 0001-01-01) for vectorised comparisons; 0 for unknown."""
    return day.toordinal() if day else 0
