"""The embedded store: SQLite (the source of truth) plus a FAISS file and a BM25 cache per index generation,
all in one folder. Readers follow the writer's commits: a search uses the newest committed generation.

FAISS, the keyword index and the writer are imported when a search or a write first needs them, so that reading
the catalogue (`index stats`, `index list`) costs SQLite alone."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock, Timeout

from common.errors import StoreError
from index import sentence_vectors
from index.sqlite.database import (
    ARTICLE_COLUMNS,
    DATABASE_NAME,
    SCHEMA_VERSION,
    article_from_row,
    chunked,
    connect,
    corrupt,
    damage_reported,
    fsync_directory,
    generation,
    get_meta,
    marks,
    passages_by_id,
)
from index.store import ensure_model, index_busy, problems_found
from index.types import Filters, Hit, Passage, StoredArticle

if TYPE_CHECKING:
    import faiss

    from index.sqlite.catalogue import Catalogue
    from index.sqlite.keywords import KeywordIndex
    from index.sqlite.writer import SQLiteWriter

LOCK_NAME = "write.lock"
SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite file


@dataclass
class Snapshot:
    """One committed generation: its vectors, its catalogue and (built on first use) its keyword index."""

    generation: int
    faiss: faiss.IndexIDMap2
    catalogue: Catalogue
    keywords: KeywordIndex | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class SQLiteStore:
    def __init__(self, location: str | Path, expected_model: str | None = None, create: bool = False):
        self.directory = Path(location)
        self.location = str(self.directory)
        self.expected_model = expected_model
        connect(self.directory, create=create, migrate=True).close()  # a clear message now when there is none
        self._local = threading.local()
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections must not be shared by threads in a transaction)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = connect(self.directory)
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def model(self) -> tuple[str, int] | None:
        model, dimension = get_meta(self.db, "model"), get_meta(self.db, "dimension")
        return (model, int(dimension)) if model and dimension else None

    # -- snapshots -------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The newest committed generation (loaded again when a writer has committed since). Only loading takes
        the lock: searches in other threads go on meanwhile."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == generation(self.db):
            return snapshot
        with self._lock:
            current = generation(self.db)
            if self._snapshot is None or self._snapshot.generation != current:
                self._snapshot = self._load()
            return self._snapshot

    def _load(self) -> Snapshot:
        import faiss

        from index.sqlite import vectors
        from index.sqlite.catalogue import Catalogue

        faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead (and stall under load)
        self.db.execute("BEGIN")  # one consistent view of the generation, its vectors and its catalogue
        try:
            self._check_model()
            current = generation(self.db)
            catalogue = Catalogue.load(self.db)
            model = self.model()
            dimension = model[1] if model else 0
            index = vectors.load(self.directory, current, len(catalogue.passage_ids), dimension, mapped=True)
            if index is None:
                index = vectors.build_from_database(self.db, dimension)
            return Snapshot(current, index, catalogue)
        finally:
            self.db.execute("COMMIT")

    def _check_model(self) -> None:
        ensure_model(self.location, get_meta(self.db, "model"), self.expected_model)

    def _keywords(self, snapshot: Snapshot) -> KeywordIndex:
        from index.sqlite.keywords import KeywordIndex

        with snapshot.lock:
            if snapshot.keywords is None:
                snapshot.keywords = KeywordIndex.cached(self.directory, snapshot.generation, self._passage_texts)
            return snapshot.keywords

    def _passage_texts(self) -> Iterator[tuple[int, str, str]]:
        rows = self.db.execute(
            'SELECT p.id, a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p '
            "JOIN articles a ON a.id = p.article_id ORDER BY p.id"
        )
        return ((row[0], row[1], row[2]) for row in rows)

    # -- search ----------------------------------------------------------------------------------

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        snapshot = self.snapshot()
        index, catalogue = snapshot.faiss, snapshot.catalogue
        if index.ntotal == 0 or k <= 0:
            return []
        params, bitmap = None, None  # the selector reads the bitmap: it must live until the search is done
        if filters:
            allowed = catalogue.allowed(filters)
            if not allowed.any():
                return []
            params, bitmap = catalogue.search_parameters(allowed)
        scores, ids = index.search(
            np.asarray(vector, dtype=np.float32).reshape(1, -1), min(index.ntotal, k), params=params
        )
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        return _hits(found, catalogue)

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        snapshot = self.snapshot()
        if k <= 0:
            return []
        keywords, catalogue = self._keywords(snapshot), snapshot.catalogue
        allowed = catalogue.allowed(filters) if filters else None
        if allowed is not None and not allowed.any():
            return []
        return _hits(keywords.search(query, k, allowed), catalogue)

    def vocabulary(self) -> Mapping[str, int]:
        return self._keywords(self.snapshot()).vocabulary(self._passage_texts)

    # -- reading ---------------------------------------------------------------------------------

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        return passages_by_id(self.db, list(ids))

    def sentence_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        model = self.model()
        if model is None:
            return {}
        found: dict[int, np.ndarray] = {}
        for chunk in chunked(list(ids), 500):
            rows = self.db.execute(
                f"SELECT passage_id, vectors FROM sentence_vectors WHERE passage_id IN ({marks(chunk)})", chunk
            )
            found.update((row[0], sentence_vectors.unpack(row[1], model[1])) for row in rows)
        return found

    def lead_passages(self, article_ids: Sequence[str], per_article: int) -> dict[str, list[Passage]]:
        ids = list(article_ids)
        rows = [
            row
            for chunk in chunked(ids, 500)
            for row in self.db.execute(
                f"SELECT id, article_id FROM passages WHERE article_id IN ({marks(chunk)}) AND ordinal < ?"
                " ORDER BY article_id, ordinal",
                [*chunk, per_article],
            )
        ]
        passages = self.passages([row[0] for row in rows])
        leads: dict[str, list[Passage]] = {article_id: [] for article_id in ids}
        for passage_id, article_id in rows:
            leads[article_id].append(passages[passage_id])
        return leads

    def article_vectors(self, article_ids: Sequence[str]) -> np.ndarray:
        rows_of = {article_id: row for row, article_id in enumerate(article_ids)}
        model = self.model()
        dimension = model[1] if model else 0
        sums = np.zeros((len(rows_of), dimension), dtype=np.float32)
        for chunk in chunked(list(rows_of), 500):
            for article_id, vector in self.db.execute(
                f"SELECT article_id, vector FROM passages WHERE article_id IN ({marks(chunk)})", chunk
            ):
                sums[rows_of[article_id]] += np.frombuffer(vector, dtype=np.float32)
        unit: np.ndarray = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return unit

    def articles(self, limit: int | None = None, filters: Filters | None = None) -> list[StoredArticle]:
        conditions, values = _conditions(filters or Filters())
        rows = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE {conditions}"
            " ORDER BY coalesce(substr(published, 1, 10), substr(added_at, 1, 10)) DESC, added_seq DESC"
            + (" LIMIT ?" if limit else ""),
            [*values, limit] if limit else values,
        )
        return [article_from_row(row) for row in rows]

    def sources(self) -> list[str]:
        return list(self.snapshot().catalogue.outlets)  # worked out once per generation

    def find(self, article_id: str, identity: str | None = None) -> StoredArticle | None:
        row = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ? OR identity = ?", (article_id, identity)
        ).fetchone()
        return article_from_row(row) if row else None

    def content_hash(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT content_hash FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def duplicate_of(self, content_hash: str, article_id: str) -> str | None:
        row = self.db.execute(
            "SELECT id FROM articles WHERE content_hash = ? AND id != ?", (content_hash, article_id)
        ).fetchone()
        return row[0] if row else None

    def texts(self) -> Iterator[tuple[str, str, str]]:
        for row in self.db.execute("SELECT id, title, text FROM articles ORDER BY id"):
            yield row[0], row[1], row[2]

    def mark(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(added_seq), 0) FROM articles").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        counts = self.db.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages), (SELECT max(published) FROM articles)"
        ).fetchone()
        model = self.model()
        return {
            "articles": counts[0],
            "passages": counts[1],
            "model": model[0] if model else None,
            "dimension": model[1] if model else None,
            "bytes": sum(f.stat().st_size for f in self.directory.rglob("*") if f.is_file()),
            "newest_published": counts[2],
        }

    # -- checking and backing up ------------------------------------------------------------------

    def check(self) -> list[str]:
        return problems_found(str(self.directory / DATABASE_NAME), _Inspection(self.db, self.directory))

    def probe(self) -> None:
        path = self.directory / DATABASE_NAME
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as error:
            raise StoreError(f"can't read {path} ({error.strerror})") from None
        if header != SQLITE_HEADER:
            raise corrupt(path, ValueError("not an SQLite file: its header is overwritten"))
        connection = connect(self.directory)
        try:
            connection.execute("SELECT count(*) FROM articles").fetchone()
        finally:
            connection.close()

    def repair(self) -> list[str]:
        with self.writer() as writer:
            return writer.repair()

    def backup(self, path: str) -> str:
        """SQLite's online backup of the committed index into the folder `path` (new or empty); the FAISS file is
        rebuilt from it when the backup is opened."""
        target = Path(path)
        try:
            if target.exists() and (not target.is_dir() or any(target.iterdir())):
                raise StoreError(f"{target} already exists and is not an empty folder; name a new folder for the backup")
            target.mkdir(parents=True, exist_ok=True)
            temporary = target / f".{DATABASE_NAME}.partial"
            copy = sqlite3.connect(temporary)
            try:
                with damage_reported(self.directory / DATABASE_NAME):
                    self.db.backup(copy)
                copy.execute("PRAGMA journal_mode=WAL")
            finally:
                copy.close()
            os.replace(temporary, target / DATABASE_NAME)
            fsync_directory(target)
        except (OSError, sqlite3.OperationalError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            raise StoreError(f"can't write a backup to {target} ({reason}); name a new folder you may write") from None
        return str(target / DATABASE_NAME)

    # -- writing ---------------------------------------------------------------------------------

    @contextmanager
    def writer(self, wait: float = 0.0) -> Iterator[SQLiteWriter]:
        lock = FileLock(self.directory / LOCK_NAME, timeout=wait)
        try:
            lock.acquire()
        except Timeout:
            raise index_busy(self.location) from None
        from index.sqlite.writer import SQLiteWriter

        try:
            with SQLiteWriter(self.directory) as writer:
                yield writer
        finally:
            lock.release()


class _Inspection:
    """What `check` reads from the SQLite file and the FAISS file beside it."""

    def __init__(self, db: sqlite3.Connection, directory: Path):
        self.db, self.directory, self.path = db, directory, directory / DATABASE_NAME

    def damage(self) -> list[str]:
        problems = [f"{self.path}: {row[0]}" for row in self.db.execute("PRAGMA integrity_check(20)") if row[0] != "ok"]
        return problems + [
            f"{self.path}: row {row[1]} of {row[0]} refers to a missing row of {row[2]}"
            for row in self.db.execute("PRAGMA foreign_key_check")
        ]

    def schema_versions(self) -> tuple[int, int]:
        return int(get_meta(self.db, "schema_version") or 1), SCHEMA_VERSION

    def passage_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def model(self) -> tuple[str, int] | None:
        model, dimension = get_meta(self.db, "model"), get_meta(self.db, "dimension")
        return (model, int(dimension)) if model and dimension else None

    def misfit_vectors(self, dimension: int) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM passages WHERE length(vector) != ?", (4 * dimension,)).fetchone()[0]
        )

    def misfit_sentence_vectors(self, row_bytes: int) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM sentence_vectors WHERE length(vectors) = 0 OR length(vectors) % ? != 0",
                (row_bytes,),
            ).fetchone()[0]
        )

    def derived_problems(self, passages: int, dimension: int) -> list[str]:
        from index.sqlite import vectors

        _, problem = vectors.inspect(self.directory, generation(self.db), passages, dimension)
        return [f"{problem}; `newsbot index check --repair` rewrites it (searches rebuild it meanwhile)"] if problem else []


def _hits(found: list[tuple[int, float]], catalogue: Catalogue) -> list[Hit]:
    """(passage id, score) pairs, best first, as hits with their article, its day and their place in it."""
    if not found:
        return []
    positions = np.searchsorted(
        catalogue.passage_ids, np.array([passage_id for passage_id, _ in found], dtype=np.int64)
    )
    articles, days, ordinals = (
        values[positions].tolist() for values in (catalogue.article_ids, catalogue.days, catalogue.ordinals)
    )
    return [
        Hit(passage_id, article_id, score, date.fromordinal(day) if day > 0 else None, ordinal)
        for (passage_id, score), article_id, day, ordinal in zip(found, articles, days, ordinals, strict=True)
    ]


def _conditions(filters: Filters) -> tuple[str, list[object]]:
    """`filters` as an SQL condition on the articles table, with its values."""
    conditions: list[str] = ["1"]
    values: list[object] = []
    day = "coalesce(substr(published, 1, 10), substr(added_at, 1, 10))"  # undated: when it was added
    if filters.sources:
        conditions.append(f"lower(source) IN ({marks(list(filters.sources))})")
        values.extend(source.lower() for source in filters.sources)
    if filters.published_from:
        conditions.append(f"{day} >= ?")
        values.append(filters.published_from.isoformat())
    if filters.published_to:
        conditions.append(f"{day} <= ?")
        values.append(filters.published_to.isoformat())
    if filters.until:
        conditions.append(f"{day} <= ?")
        values.append(filters.until.isoformat())
    if filters.added_after is not None:
        conditions.append("added_seq > ?")
        values.append(filters.added_after)
    return " AND ".join(conditions), values


def index_exists(location: str | Path) -> bool:
    return (Path(location) / DATABASE_NAME).exists()
