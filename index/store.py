"""The storage seam: everything that reads or writes the index goes through a `Store`.

Two implementations keep the same contract (tests/test_store_contract.py runs against both):
`index.sqlite.SQLiteStore` (SQLite + FAISS in one folder, the embedded default) and
`index.postgres.PostgresStore` (PostgreSQL + pgvector, for several processes on several machines).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np

from index.types import ArticleWrite, Filters, Hit, Passage, PassageWrite, StoredArticle


class StoreWriter(Protocol):
    """Changes to the index while the writer lock is held; each call is one transaction, and a reader sees
    all of it or none of it."""

    def set_model(self, model_id: str, dimension: int) -> None: ...

    def put(self, articles: Sequence[ArticleWrite]) -> list[tuple[str, str]]:
        """Adds each article, or replaces the one with its id (its passages and vectors with it). Returns
        (article id, reason) for each article that could not be written; the others are kept."""
        ...

    def remove(self, article_id: str) -> None: ...

    def rebuild(self, model_id: str, dimension: int, passages: Iterable[tuple[str, list[PassageWrite]]]) -> int:
        """Replaces every article's passages (re-split and re-embedded) and the model, in one transaction;
        returns the number of articles."""
        ...


class Store(Protocol):
    location: str  # what messages call the index: its folder, or the database URL without its password

    def model(self) -> tuple[str, int] | None:
        """(model id, dimension) the vectors were made with; None while the index holds none."""
        ...

    # -- search ----------------------------------------------------------------------------------

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        """The `k` passages most similar to `vector` (cosine) that pass `filters`, best first, each with its
        article's day (publication, else added) and its ordinal. Filters apply inside the search (k are returned whenever k
        pass), `until` included: an article published after it, or undated and added after it, is never found.
        Retrieval asks for a few hundred passages per question: this must stay cheap for k = 300."""
        ...

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """The `k` passages that best match the words of `query` (BM25 over the article title and the passage),
        filtered as `dense_search`; only passages that share a word with the query."""
        ...

    def vocabulary(self) -> Mapping[str, int]:
        """Every word in the indexed passages (lower case) and how many passages hold it."""
        ...

    # -- reading ---------------------------------------------------------------------------------

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]: ...

    def sentence_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Passage id -> one vector per sentence of its text (`index.passages.sentence_spans` order), for the
        passages that have them (an index written by an older newsbot has none until it is rebuilt)."""
        ...

    def lead_passages(self, article_ids: Sequence[str], per_article: int) -> dict[str, list[Passage]]:
        """The first `per_article` passages of each article, in order."""
        ...

    def article_vectors(self, article_ids: Sequence[str]) -> np.ndarray:
        """One unit vector per article (the mean of its passages' vectors), in the order given."""
        ...

    def articles(self, limit: int | None = None, filters: Filters | None = None) -> list[StoredArticle]:
        """Articles that pass `filters`, newest first (by publication, else by when they were added)."""
        ...

    def find(self, article_id: str, identity: str | None = None) -> StoredArticle | None:
        """The article with this id, or with this identity (index.articles: `url_identity` of its URL, else
        its file's key); `find("", identity)` looks by identity only. Ids are given once and kept: an index
        written before query strings counted has articles whose id is not derived from their identity."""
        ...

    def content_hash(self, article_id: str) -> str | None: ...

    def duplicate_of(self, content_hash: str, article_id: str) -> str | None:
        """The id of another article with the same text, if there is one."""
        ...

    def texts(self) -> Iterator[tuple[str, str, str]]:
        """(id, title, text) of every article, for re-embedding."""
        ...

    def mark(self) -> int:
        """What the index holds now: articles added or replaced later pass `Filters(added_after=mark)`."""
        ...

    def stats(self) -> dict:
        """{"articles", "passages", "model", "dimension", "bytes", "newest_published"}"""
        ...

    # -- checking and backing up ------------------------------------------------------------------

    def check(self) -> list[str]:
        """Every problem found, one line each naming what is damaged (and, where there is one, what to do);
        empty when the index is sound. Read-only: repairs nothing. `newsbot index check` prints them.
        SQLite: integrity_check, foreign keys, schema version, a model recorded, vector and sentence vector
        sizes, and the FAISS file's count against the passages. PostgreSQL: at least the schema version, a model
        recorded when there are passages, vector dimensions, sentence vector sizes and orphaned passages (amcheck
        is optional)."""
        ...

    def backup(self, path: str) -> str:
        """A consistent copy of the committed index at `path`, safe while readers read and a writer writes
        (SQLite: the online backup API into the folder `path`, which must be new or empty); a backup opens
        as an index. Returns what was written. A store that can't make one (PostgreSQL) raises StoreError
        saying what to use instead (`pg_dump`)."""
        ...

    # -- writing and lifetime --------------------------------------------------------------------

    def writer(self, wait: float = 0.0) -> AbstractContextManager[StoreWriter]:
        """The writer lock, across processes (and machines, for PostgreSQL); IndexBusyError when another
        writer holds it for longer than `wait` seconds. Readers are never blocked."""
        ...

    def close(self) -> None: ...


def is_database_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str, expected_model: str | None = None, create: bool = False) -> Store:
    """The store at `location`: a postgresql:// URL, or a folder for SQLite + FAISS. With `expected_model`,
    searching an index built with another model raises ModelMismatchError."""
    if is_database_url(location):
        from index.postgres import PostgresStore

        return PostgresStore(location, expected_model, create)
    from index.sqlite import SQLiteStore

    return SQLiteStore(location, expected_model, create)


def index_exists(location: str) -> bool:
    """Whether `location` (a postgresql:// URL or a folder) holds an index."""
    if is_database_url(location):
        from index.postgres import index_exists as exists
    else:
        from index.sqlite import index_exists as exists
    return exists(location)
