"""The storage seam: everything that reads or writes the index goes through a `Store`, and each consumer depends
on the role it uses: `Search` (answers, briefings), `Articles` (the indexer), `Maintenance` (operators).

Two implementations keep the same contract (tests/test_store_contract.py runs against both):
`index.sqlite.SQLiteStore` (SQLite + FAISS in one folder, the embedded default) and
`index.postgres.PostgresStore` (PostgreSQL + pgvector, for several processes on several machines).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np

from common.errors import IndexBusyError, ModelMismatchError
from index import sentence_vectors
from index.types import ArticleWrite, Filters, Hit, Passage, PassageWrite, StoredArticle


class StoreWriter(Protocol):
    """Changes to the index while the writer lock is held; each call is one transaction, and a reader sees
    all of it or none of it."""

    def set_model(self, model_id: str, dimension: int) -> None: ...

    def put(self, articles: Sequence[ArticleWrite], added_at: datetime | None = None) -> list[tuple[str, str]]:
        """Adds each article, or replaces the one with its id (its passages and vectors with it), as added at
        `added_at` (None: now). Returns (article id, reason) for each article that could not be written; the others
        are kept."""
        ...

    def remove(self, article_id: str) -> None: ...

    def prune(self, before: date, dry_run: bool = False) -> list[StoredArticle]:
        """Removes every article whose day (its publication, else when it was added) is before `before`, and
        gives the space back; returns them, oldest first (with `dry_run`, only returns them)."""
        ...

    def optimize(self) -> list[str]:
        """Brings what is derived from the rows up to date now rather than as writes go: damaged files made
        again, segments written and merged, the dense index suited to the index's size. One line per step."""
        ...

    def rebuild(self, model_id: str, dimension: int, passages: Iterable[tuple[str, list[PassageWrite]]]) -> int:
        """Replaces every article's passages (re-split and re-embedded) and the model, in one transaction;
        returns the number of articles."""
        ...


class Search(Protocol):
    """What answers and briefings read: passages found by meaning and by words, and what they need of them."""

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

    def sources(self) -> list[str]:
        """The outlets the articles name (each once, in one of its spellings), for questions that name one."""
        ...


class Articles(Protocol):
    """What the indexer reads and writes: which articles are stored, under which ids and texts."""

    location: str  # what messages call the index: its folder, or the database URL without its password

    def model(self) -> tuple[str, int] | None:
        """(model id, dimension) the vectors were made with; None while the index holds none."""
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

    def writer(self, wait: float = 0.0) -> AbstractContextManager[StoreWriter]:
        """The writer lock, across processes (and machines, for PostgreSQL); IndexBusyError when another
        writer holds it for longer than `wait` seconds. Readers are never blocked."""
        ...


class Maintenance(Protocol):
    """What operators ask of the index: its size, its soundness, a copy."""

    location: str

    def stats(self) -> dict[str, Any]:
        """{"articles", "passages", "model", "dimension", "bytes", "newest_published", "oldest_published",
        "dense_search" (exact, approximate or hnsw), "parts": {part: bytes on disk}}"""
        ...

    def check(self) -> list[str]:
        """Every problem found, one line each naming what is damaged (and, where there is one, what to do);
        empty when the index is sound. Read-only: repairs nothing. `newsbot index check` prints them; the
        lines are written once, by `problems_found`, from what each store's `Inspection` reads."""
        ...

    def probe(self) -> None:
        """Reads the index from where it is kept, past every cache (a new connection, the file's own header):
        StoreError saying what is wrong when it can't be read. What a health check asks, so it must be cheap."""
        ...

    def repair(self) -> list[str]:
        """Rewrites, under the writer lock, what is derived from the database and found missing, damaged or stale
        (the embedded store's segment and dense files), so that `check` passes
        again without waiting for a write. Returns one line per file rewritten. The database itself is never
        changed: damage there is for a backup or a rebuild (what `check` says)."""
        ...

    def backup(self, path: str) -> str:
        """A consistent copy of the committed index at `path`, safe while readers read and a writer writes
        (SQLite: the online backup API into the folder `path`, which must be new or empty); a backup opens
        as an index. Returns what was written. A store that can't make one (PostgreSQL) raises StoreError
        saying what to use instead (`pg_dump`)."""
        ...


class Store(Search, Articles, Maintenance, Protocol):
    """Every role at once: what the composition root opens, and closes."""

    def close(self) -> None: ...


class Inspection(Protocol):
    """What `check` reads from one store; `problems_found` turns it into the same lines for every store."""

    def damage(self) -> list[str]:
        """The database's own findings (SQLite: integrity and foreign keys), one line each."""
        ...

    def schema_versions(self) -> tuple[int, int]:
        """(the index's schema version, the one this newsbot writes)."""
        ...

    def passage_count(self) -> int: ...

    def model(self) -> tuple[str, int] | None: ...

    def misfit_vectors(self, dimension: int) -> int:
        """How many passage vectors are not of `dimension`."""
        ...

    def misfit_sentence_vectors(self, row_bytes: int) -> int:
        """How many passages' sentence vectors are not whole rows of `row_bytes`."""
        ...

    def derived_problems(self, passages: int, dimension: int) -> list[str]:
        """What is wrong beside the rows: a stale derived file, passages whose article is gone."""
        ...


def problems_found(location: str, inspection: Inspection) -> list[str]:
    """Every problem `inspection` finds, one line each naming what is damaged and what to do."""
    problems = inspection.damage()
    version, written = inspection.schema_versions()
    if version != written:
        problems.append(f"{location}: schema version {version}, this newsbot writes {written}")
    passages, model = inspection.passage_count(), inspection.model()
    if model is None:
        if passages:
            problems.append(f"{location}: no embedding model is recorded; run `newsbot index rebuild`")
        return problems
    dimension = model[1]
    if misfits := inspection.misfit_vectors(dimension):
        problems.append(misfit_vectors(location, misfits, dimension))
    if misfits := inspection.misfit_sentence_vectors(sentence_vectors.row_bytes(dimension)):
        problems.append(
            f"{location}: the sentence vectors of {misfits} passages are not of dimension {dimension}; "
            "run `newsbot index rebuild`"
        )
    return problems + inspection.derived_problems(passages, dimension)


def misfit_vectors(location: str, count: int, dimension: int) -> str:
    """The line for passage vectors of the wrong size (what `check` finds, and a search that meets them)."""
    return f"{location}: {count} passage vectors are not of dimension {dimension}; run `newsbot index rebuild`"


def ensure_model(location: str, recorded: str | None, expected: str | None) -> None:
    """ModelMismatchError when the index holds vectors of a model other than `expected`."""
    if expected and recorded and recorded != expected:
        raise ModelMismatchError(
            f"the index at {location} was built with the model '{recorded}', but EMBEDDING_MODEL is "
            f"'{expected}'; run `newsbot index rebuild` to re-embed every article with it"
        )


def index_busy(location: str) -> IndexBusyError:
    return IndexBusyError(
        f"index is busy: another newsbot process is writing to {location}; try again when it has finished"
    )
