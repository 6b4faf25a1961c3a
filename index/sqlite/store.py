"""The embedded store: SQLite (the source of truth) plus immutable segment files beside it (keyword postings,
per-article filter columns, vectors for dense search), all in one folder. Readers follow the writer's commits:
a search uses the newest committed generation, loaded from the previous one by reading only what changed
(index/sqlite/snapshot.py); a question never waits for a rebuild.

FAISS, the snapshot and the writer are imported when a search or a write first needs them, so that reading the
catalogue (`index stats`, `index list`) costs SQLite alone."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock, Timeout

from common.errors import StoreError
from index import sentence_vectors
from index.sqlite.database import (
    ARTICLE_COLUMNS,
    DATABASE_NAME,
    DENSE_FOLDER,
    SEGMENTS_FOLDER,
    article_from_row,
    chunked,
    corrupt,
    damage_reported,
    fsync_directory,
    generation,
    get_meta,
    marks,
    passages_by_id,
    read_transaction,
)
from index.sqlite.schema import SCHEMA_VERSION, connect
from index.store import ensure_model, index_busy, problems_found
from index.types import Filters, Hit, Layout, Passage, StoredArticle, day_number

if TYPE_CHECKING:
    from index.sqlite.filters import Compiled
    from index.sqlite.snapshot import Snapshot
    from index.sqlite.writer import SQLiteWriter

LOCK_NAME = "write.lock"
SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite file


EXACT_FILTERED = 20_000  # a filter that leaves this few passages is searched exactly, the vectors read from SQLite


class SQLiteStore:
    def __init__(
        self, location: str | Path, expected_model: str | None = None, create: bool = False, layout: Layout | None = None
    ):
        self.directory = Path(location)
        self.location = str(self.directory)
        self.expected_model = expected_model
        self.layout = layout or Layout()
        connect(self.directory, create=create, migrate=True).close()  # a clear message now when there is none
        self._local = threading.local()
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._vocabulary: tuple[int, dict[str, int]] | None = None
        self._outlets: tuple[int, list[str]] | None = None

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
        """The newest committed generation, loaded from the one before (only loading takes the lock: searches in
        other threads go on meanwhile)."""
        with read_transaction(self.db):
            return self._current()

    def _current(self) -> Snapshot:
        """The snapshot of the generation this thread's read transaction sees."""
        snapshot, current = self._snapshot, generation(self.db)
        if snapshot is not None and current < snapshot.generation:  # began before another thread loaded a newer one
            self.db.execute("COMMIT")
            self.db.execute("BEGIN")
            current = generation(self.db)
        if snapshot is not None and snapshot.generation == current:
            return snapshot
        ensure_model(self.location, get_meta(self.db, "model"), self.expected_model)
        from index.sqlite import snapshot as snapshots

        with self._lock:
            if self._snapshot is None or self._snapshot.generation != current:
                import faiss

                faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead (and stall under load)
                loaded = snapshots.load(self.db, self.directory, self._snapshot, self.layout.approximate_scan)
                if self._snapshot is None or loaded.generation >= self._snapshot.generation:
                    self._snapshot = loaded
                return loaded
            return self._snapshot

    @contextmanager
    def _reading(self, filters: Filters | None) -> Iterator[tuple[Snapshot, Compiled | None]]:
        """The current snapshot and `filters` compiled against it, in one read transaction."""
        from index.sqlite.filters import Compiled

        with read_transaction(self.db):
            snapshot = self._current()
            compiled = Compiled.of(filters, self._source_ids(filters)) if filters else None
            yield snapshot, compiled

    def _source_ids(self, filters: Filters) -> dict[str, int]:
        keys = [source.lower() for source in filters.sources]
        if not keys:
            return {}
        return dict(self.db.execute(f"SELECT key, id FROM sources WHERE key IN ({marks(keys)})", keys).fetchall())

    # -- search ----------------------------------------------------------------------------------

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        from index.sqlite import search

        if k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        with self._reading(filters) as (snapshot, compiled):
            if snapshot.trained is None:
                found = search.exact(snapshot, query, k, compiled)
            else:
                found = search.approximate(snapshot, query, k, compiled, self._vectors)
                if len(found) < k and compiled is not None:
                    found = self._exact_filtered(snapshot, query, k, compiled, found)
            return search.hits(snapshot, found)

    def _exact_filtered(
        self, snapshot: Snapshot, query: np.ndarray, k: int, compiled: Compiled, found: list[tuple[float, int]]
    ) -> list[tuple[float, int]]:
        """An approximate search that found too few passing a selective filter: when the filter leaves at most
        EXACT_FILTERED passages, every one of them is scored exactly (their vectors read from SQLite)."""
        from index.sqlite import search

        ids = search.passing_ids(snapshot, compiled)
        if len(ids) > EXACT_FILTERED:
            return found
        return search.scored(self._vectors(ids), ids, query, k)

    def _vectors(self, passage_ids: np.ndarray) -> np.ndarray:
        """The stored vectors of `passage_ids`, in their order, as float32 rows."""
        from index.sqlite.build import decode_rows

        dimension = int(get_meta(self.db, "dimension") or 0)
        blobs: dict[int, bytes] = {}
        for chunk in chunked([int(i) for i in passage_ids], 500):
            blobs.update(self.db.execute(f"SELECT id, vector FROM passages WHERE id IN ({marks(chunk)})", chunk).fetchall())
        return decode_rows(self.db, [blobs[int(i)] for i in passage_ids], dimension)

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        from index.sqlite import keywords, search
        from index.sqlite.filters import Allowed
        from index.terms import terms

        if k <= 0:
            return []
        asked = terms(query)
        if not asked:
            return []
        with self._reading(filters) as (snapshot, compiled):
            distinct = list(dict.fromkeys(asked))
            found = {
                term: (term_id, df)
                for term, term_id, df in self.db.execute(
                    f"SELECT term, id, df FROM kw_terms WHERE term IN ({marks(distinct)}) AND df > 0", distinct
                )
            }
            prepared = keywords.query_of(asked, found, snapshot.passages)
            allowed = Allowed(snapshot.segments, snapshot.removed, compiled)
            best = keywords.search(snapshot.segments, prepared, snapshot.average_length, k, allowed)
            hits = search.part_hits(snapshot, best)
        for segment in snapshot.segments:
            segment.release()
        return hits

    def vocabulary(self) -> Mapping[str, int]:
        """The words table, kept in memory and brought up to date by the rows changed since (each write marks
        the rows it changes with its generation)."""
        with read_transaction(self.db):
            current = generation(self.db)
            with self._lock:
                cached = self._vocabulary
                if cached is not None and cached[0] == current:
                    return cached[1]
                since = cached[0] if cached is not None else -1
                rows = self.db.execute("SELECT word, passages FROM words WHERE generation > ?", (since,)).fetchall()
                words = dict(cached[1]) if cached is not None else {}
                for word, count in rows:
                    if count > 0:
                        words[word] = count
                    else:
                        words.pop(word, None)
                self._vocabulary = (current, words)
                return words

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
        from index.sqlite.database import decode_vector as decode

        rows_of = {article_id: row for row, article_id in enumerate(article_ids)}
        model = self.model()
        dimension = model[1] if model else 0
        sums = np.zeros((len(rows_of), dimension), dtype=np.float32)
        for chunk in chunked(list(rows_of), 500):
            for article_id, vector in self.db.execute(
                f"SELECT article_id, vector FROM passages WHERE article_id IN ({marks(chunk)})", chunk
            ):
                sums[rows_of[article_id]] += decode(vector, dimension)
        unit: np.ndarray = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return unit

    def articles(self, limit: int | None = None, filters: Filters | None = None) -> list[StoredArticle]:
        conditions, values = _conditions(filters or Filters())
        rows = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE {conditions} ORDER BY day DESC, added_seq DESC"
            + (" LIMIT ?" if limit else ""),
            [*values, limit] if limit else values,
        )
        return [article_from_row(row) for row in rows]

    def sources(self) -> list[str]:
        """Worked out once per generation (each question that may name an outlet asks)."""
        with read_transaction(self.db):
            current = generation(self.db)
            cached = self._outlets
            if cached is None or cached[0] != current:
                rows = self.db.execute("SELECT min(source) FROM articles WHERE source <> '' GROUP BY source_id")
                cached = self._outlets = (current, [row[0] for row in rows])
        return list(cached[1])

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
        with read_transaction(self.db):
            counts = self.db.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages),"
                " (SELECT min(published) FROM articles), (SELECT max(published) FROM articles)"
            ).fetchone()
            mode = get_meta(self.db, "dense_mode") or "exact"
        model = self.model()
        return {
            "articles": counts[0],
            "passages": counts[1],
            "model": model[0] if model else None,
            "dimension": model[1] if model else None,
            "bytes": sum(f.stat().st_size for f in self.directory.rglob("*") if f.is_file()),
            "newest_published": counts[3],
            "oldest_published": counts[2],
            "dense_search": mode,
            "parts": self._part_bytes(),
        }

    def _part_bytes(self) -> dict[str, int]:
        def size(paths: Iterator[Path]) -> int:
            return sum(path.stat().st_size for path in paths if path.is_file())

        database = size(self.directory.glob(f"{DATABASE_NAME}*"))
        folder = self.directory / DENSE_FOLDER
        dense_files = list(folder.glob("*")) if folder.exists() else []
        return {
            "database": database,
            "keyword_segments": size((self.directory / SEGMENTS_FOLDER).rglob("*")),
            "vectors_exact": size(path for path in dense_files if path.name.endswith(".flat.faiss")),
            "vectors_approximate": size(path for path in dense_files if not path.name.endswith(".flat.faiss")),
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
        """SQLite's online backup of the committed index into the folder `path` (new or empty), then the segment
        and dense files that copy lists (linked when on the same file system; they are never changed in place).
        A file merged away meanwhile is made again from the database when the backup is next written to."""
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
                listed = _listed_files(copy)
            finally:
                copy.close()
            for relative in listed:
                _link_or_copy(self.directory / relative, target / relative)
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
            with SQLiteWriter(self.directory, self.layout) as writer:
                yield writer
        finally:
            lock.release()


class _Inspection:
    """What `check` reads from the SQLite file and the segment and dense files beside it."""

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
            self.db.execute(
                "SELECT count(*) FROM passages WHERE length(vector) NOT IN (?, ?)", (2 * dimension, 4 * dimension)
            ).fetchone()[0]
        )

    def misfit_sentence_vectors(self, row_bytes: int) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM sentence_vectors WHERE length(vectors) = 0 OR length(vectors) % ? != 0",
                (row_bytes,),
            ).fetchone()[0]
        )

    def derived_problems(self, passages: int, dimension: int) -> list[str]:
        from index.sqlite import dense
        from index.sqlite.build import int_meta
        from index.sqlite.segments import verify
        from index.sqlite.writer import Listed, trained_problem

        problems = []
        with read_transaction(self.db):
            listed = Listed.all(self.db)
            for segment in listed:
                if problem := verify(self.directory, segment.id):
                    problems.append(problem)
                if segment.dense and (
                    problem := dense.verify(self.directory, segment.dense, segment.dense_bytes or 0, segment.dense_crc or 0)
                ):
                    problems.append(problem)
            if get_meta(self.db, "dense_mode") == dense.APPROXIMATE and (problem := trained_problem(self.db, self.directory)):
                problems.append(problem)
            removed = int(self.db.execute("SELECT count(*) FROM removed_passages").fetchone()[0])
            tail = int(
                self.db.execute("SELECT count(*) FROM passages WHERE id > ?", (int_meta(self.db, "flushed_through"),)).fetchone()[0]
            )
            counted = int_meta(self.db, "kw_passages")
        if sum(segment.passages for segment in listed) - removed + tail != passages or counted != passages:
            problems.append(
                f"{self.path}: the keyword index counts {counted} passages and its segments hold "
                f"{sum(s.passages for s in listed) - removed + tail}, the database {passages}; run `newsbot index rebuild`"
            )
        return [f"{problem}; `newsbot index optimize` makes it again from the database" for problem in problems]


def _listed_files(db: sqlite3.Connection) -> list[Path]:
    """The segment folders' files and dense files a copy of the index lists (relative to its folder)."""
    from index.sqlite.dense import trained_name
    from index.sqlite.segments import segment_name

    files: list[Path] = []
    for segment_id, dense_name in db.execute("SELECT id, dense FROM segments"):
        files.append(Path(SEGMENTS_FOLDER) / segment_name(segment_id))
        if dense_name:
            files.append(Path(DENSE_FOLDER) / dense_name)
    mode = db.execute("SELECT value FROM meta WHERE key = 'dense_mode'").fetchone()
    trained = db.execute("SELECT value FROM meta WHERE key = 'ann_trained'").fetchone()
    if mode and mode[0] == "approximate" and trained:
        files.append(Path(DENSE_FOLDER) / trained_name(int(trained[0])))
    return files


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link to an immutable file (a copy across file systems); a folder, file by file. A source already
    gone (merged away since the backup's snapshot) is skipped: the backup makes it again when written to."""
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for child in source.iterdir():
            _link_or_copy(child, target / child.name)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileNotFoundError:
        return
    except OSError:
        shutil.copy2(source, target)


def _conditions(filters: Filters) -> tuple[str, list[object]]:
    """`filters` as an SQL condition on the articles table, with its values."""
    conditions: list[str] = ["1"]
    values: list[object] = []
    if filters.sources:
        conditions.append(f"source_id IN (SELECT id FROM sources WHERE key IN ({marks(list(filters.sources))}))")
        values.extend(source.lower() for source in filters.sources)
    if filters.published_from:  # `day`: the publication day, else the day it was added
        conditions.append("day >= ?")
        values.append(day_number(filters.published_from))
    if filters.published_to:
        conditions.append("day <= ?")
        values.append(day_number(filters.published_to))
    if filters.until:
        conditions.append("day <= ?")
        values.append(day_number(filters.until))
    if filters.added_after is not None:
        conditions.append("added_seq > ?")
        values.append(filters.added_after)
    return " AND ".join(conditions), values


def index_exists(location: str | Path) -> bool:
    return (Path(location) / DATABASE_NAME).exists()

