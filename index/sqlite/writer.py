"""Changes to the SQLite index. Each change is one transaction that bumps the index generation; the FAISS
copy is updated in step and saved for the last generation when the writer is done."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from index import sentence_vectors
from index.sqlite import vectors
from index.sqlite.database import connect, generation, get_meta, set_meta, write_transaction
from index.types import ArticleWrite, PassageWrite


class SQLiteWriter:
    """Used by `SQLiteStore.writer()`, which holds the write lock around it."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.db = connect(self.directory, create=True)
        passages = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        self._faiss: faiss.IndexIDMap2 | None = vectors.load(
            self.directory, generation(self.db), passages, self._dimension()
        )
        self._changed = False

    def __enter__(self) -> SQLiteWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._changed:
                self._save_vectors()
        finally:
            self.db.close()

    def _dimension(self) -> int:
        return int(get_meta(self.db, "dimension") or 0)

    def set_model(self, model_id: str, dimension: int) -> None:
        with self._transaction():
            set_meta(self.db, "model", model_id)
            set_meta(self.db, "dimension", dimension)

    def put(self, articles: Sequence[ArticleWrite], added_at: datetime | None = None) -> list[tuple[str, str]]:
        failed = []
        with self._transaction():
            mark = self.db.execute("SELECT coalesce(max(added_seq), 0) FROM articles").fetchone()[0]
            now = (added_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
            for article in articles:
                self.db.execute("SAVEPOINT article")
                try:
                    self._delete(article.id)
                    mark += 1
                    self._insert_article(article, now, mark)
                    self._insert_passages(article.id, article.passages)
                    self.db.execute("RELEASE article")
                except sqlite3.IntegrityError as error:  # e.g. another article already has its identity
                    self.db.execute("ROLLBACK TO article")
                    self.db.execute("RELEASE article")
                    self._faiss = None  # its passages may be in the FAISS copy: rebuilt from the database
                    failed.append((article.id, f"could not be stored ({error})"))
        return failed

    def repair(self) -> list[str]:
        """Writes the FAISS file of the current generation when the one on disk could not be used (missing,
        damaged or stale: `load` gave none)."""
        if self._faiss is not None:
            return []
        self._save_vectors()
        return [f"rewrote {vectors.vectors_path(self.directory, generation(self.db))} from the database"]

    def remove(self, article_id: str) -> None:
        with self._transaction():
            self._delete(article_id)

    def rebuild(self, model_id: str, dimension: int, passages: Iterable[tuple[str, list[PassageWrite]]]) -> int:
        count = 0
        with self._transaction():
            self.db.execute("DELETE FROM passages")
            set_meta(self.db, "model", model_id)
            set_meta(self.db, "dimension", dimension)
            self._faiss = vectors.empty_index(dimension)
            for article_id, article_passages in passages:
                self._insert_passages(article_id, article_passages)
                count += 1
        return count

    def _insert_article(self, article: ArticleWrite, now: str, mark: int) -> None:
        self.db.execute(
            "INSERT INTO articles (id, identity, title, source, url, published, added_at, content_hash, text, extra,"
            " added_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.identity,
                article.title,
                article.source,
                article.url,
                article.published,
                now,
                article.content_hash,
                article.text,
                json.dumps(article.extra, ensure_ascii=False, default=str),
                mark,
            ),
        )

    def _insert_passages(self, article_id: str, passages: list[PassageWrite]) -> None:
        ids = [
            self.db.execute(
                'INSERT INTO passages (article_id, ordinal, start, "end", vector) VALUES (?, ?, ?, ?, ?)',
                (article_id, ordinal, passage.start, passage.end, passage.vector.astype(np.float32).tobytes()),
            ).lastrowid
            for ordinal, passage in enumerate(passages)
        ]
        self.db.executemany(
            "INSERT INTO sentence_vectors (passage_id, vectors) VALUES (?, ?)",
            [
                (passage_id, sentence_vectors.pack(passage.sentences))
                for passage_id, passage in zip(ids, passages, strict=True)
                if passage.sentences is not None and len(passage.sentences)
            ],
        )
        if self._faiss is not None and ids:
            matrix = np.vstack([passage.vector for passage in passages]).astype(np.float32)
            self._faiss.add_with_ids(matrix, np.array(ids, dtype=np.int64))

    def _delete(self, article_id: str) -> None:
        removed = [row[0] for row in self.db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
        self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        if self._faiss is not None and removed:
            self._faiss.remove_ids(np.array(removed, dtype=np.int64))  # type: ignore[arg-type]  # faiss wraps it: ids are taken

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction, bumping the generation; on error the FAISS copy is forgotten (rebuilt from SQLite)."""
        try:
            with write_transaction(self.db):
                yield
                set_meta(self.db, "generation", generation(self.db) + 1)
        except BaseException:
            self._faiss = None
            raise
        self._changed = True

    def _save_vectors(self) -> None:
        if self._faiss is None:
            self._faiss = vectors.build_from_database(self.db, self._dimension())
        vectors.save(self.directory, generation(self.db), self._faiss)
