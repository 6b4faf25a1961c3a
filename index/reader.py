"""Read access to the index for search and listing; follows the writer's commits."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index import vectors
from index.database import (
    ARTICLE_COLUMNS,
    DATABASE_NAME,
    Passage,
    StoredArticle,
    connect,
    generation,
    get_meta,
    passages_by_id,
)
from index.errors import ModelMismatchError


@dataclass(frozen=True)
class Snapshot:
    generation: int
    faiss: faiss.IndexIDMap2


class IndexReader:
    """Searches the last committed generation of the index; sees a writer's work only once committed."""

    def __init__(self, directory: Path, model_id: str | None = None):
        self.directory = directory
        self.expected_model = model_id
        self.db: sqlite3.Connection = connect(directory)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def close(self) -> None:
        self.db.close()

    @property
    def model(self) -> str | None:
        return get_meta(self.db, "model")

    @property
    def dimension(self) -> int:
        return int(get_meta(self.db, "dimension") or 0)

    def snapshot(self) -> Snapshot:
        """The FAISS copy of the newest generation (reloaded when a writer has committed since)."""
        with self._lock:
            current = generation(self.db)
            if self._snapshot is None or self._snapshot.generation != current:
                self._snapshot = self._load()
            return self._snapshot

    def _load(self) -> Snapshot:
        self.db.execute("BEGIN")
        try:
            self._check_model()
            current = generation(self.db)
            try:
                index = vectors.load(self.directory, current)
            except RuntimeError:  # the file was replaced while we opened it
                index = None
            if index is None:
                index = vectors.build_from_database(self.db, self.dimension)
            return Snapshot(current, index)
        finally:
            self.db.execute("COMMIT")

    def _check_model(self) -> None:
        if self.expected_model and self.model and self.model != self.expected_model:
            raise ModelMismatchError(
                f"the index at {self.directory} was built with the model '{self.model}', but EMBEDDING_MODEL is "
                f"'{self.expected_model}'; run `newsbot index rebuild` to re-embed every article with it"
            )

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[Passage, float]]:
        index = self.snapshot().faiss
        if index.ntotal == 0:
            return []
        scores, ids = index.search(query_vector.reshape(1, -1).astype(np.float32), min(k, index.ntotal))
        found = passages_by_id(self.db, [int(i) for i in ids[0] if i >= 0])
        return [(found[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if int(i) in found]

    def article_ids(self, passage_ids: list[int]) -> dict[int, str]:
        """The article of each passage (a cheap look-up: no text is read)."""
        found: dict[int, str] = {}
        for start in range(0, len(passage_ids), 500):
            chunk = passage_ids[start : start + 500]
            rows = self.db.execute(
                f"SELECT id, article_id FROM passages WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        return passages_by_id(self.db, ids)

    def all_passages(self) -> list[tuple[int, str, str]]:
        """(passage id, article title, passage text) of every passage, for keyword indexes."""
        rows = self.db.execute(
            'SELECT p.id, a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p '
            "JOIN articles a ON a.id = p.article_id ORDER BY p.id"
        )
        return [(row[0], row[1], row[2]) for row in rows]

    def articles(self, limit: int | None = None) -> list[StoredArticle]:
        rows = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY coalesce(published, added_at) DESC, added_at DESC"
            + (" LIMIT ?" if limit else ""),
            (limit,) if limit else (),
        )
        return [StoredArticle.from_row(row) for row in rows]

    def stats(self) -> dict:
        counts = self.db.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages), (SELECT max(published) FROM articles)"
        ).fetchone()
        return {
            "articles": counts[0],
            "passages": counts[1],
            "model": self.model,
            "dimension": self.dimension or None,
            "bytes": sum(f.stat().st_size for f in self.directory.iterdir() if f.is_file()),
            "newest_published": counts[2],
        }


def index_exists(directory: Path) -> bool:
    return (directory / DATABASE_NAME).exists()
