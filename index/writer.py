"""Changes to the index, one writer at a time, each commit leaving a consistent index."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from index import vectors
from index.articles import Article, normalize_url
from index.database import ARTICLE_COLUMNS, StoredArticle, connect, generation, get_meta, set_meta
from index.embeddings import Embedder
from index.errors import IndexBusyError, IngestError, ModelMismatchError, NewsbotError
from index.passages import passage_spans
from newsbot.settings import Settings

LOCK_NAME = "write.lock"


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    failed: list[dict] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "failed": self.failed,
        }

    def fail(self, item: str, error: str) -> None:
        self.failed.append({"item": item, "error": error})

    def summary(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"duplicates {self.duplicates}, failed {len(self.failed)}"
        )

    def problem_lines(self) -> list[str]:
        """One line for each duplicate and each failure, saying which item and why."""
        duplicates = [
            f"duplicate: {d['item']} has the same text as article {d['id']}"
            for d in self.details
            if d["status"] == "duplicate"
        ]
        return duplicates + [f"failed: {f['item']}: {f['error']}" for f in self.failed]


@dataclass
class _Pending:
    article: Article
    article_id: str
    action: str  # "added", "updated" or "reembedded"
    spans: list


class IndexWriter:
    """Holds the write lock; use as a context manager. A second writer gets IndexBusyError."""

    def __init__(self, directory: Path, embedder: Embedder, passage_chars: int, commit_every_passages: int = 2048):
        self.directory = directory
        self.embedder = embedder
        self.passage_chars = passage_chars
        self.commit_every_passages = commit_every_passages
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(directory / LOCK_NAME, timeout=0)
        self._connection: sqlite3.Connection | None = None
        self._faiss: faiss.IndexIDMap2 | None = None

    @classmethod
    def for_settings(cls, settings: Settings, embedder: Embedder | None = None) -> IndexWriter:
        """The writer of the index the settings name, passages and commits sized as they say."""
        embedder = embedder or Embedder(
            settings.embedding_model,
            settings.embedding_backend,
            settings.embedding_batch_size,
            settings.model_cache_dir,
        )
        return cls(settings.index_dir, embedder, settings.passage_chars, settings.commit_every_passages)

    def __enter__(self) -> IndexWriter:
        try:
            self._lock.acquire()
        except Timeout:
            raise IndexBusyError(
                f"index is busy: another newsbot process is writing to {self.directory}; try again when it has finished"
            ) from None
        self._connection = connect(self.directory, create=True)
        self._faiss = vectors.load(self.directory, generation(self.db))
        return self

    def __exit__(self, *exc_info) -> None:
        if self._connection is not None:
            self._connection.close()
        self._lock.release()

    @property
    def db(self) -> sqlite3.Connection:
        assert self._connection is not None, "use IndexWriter as a context manager"
        return self._connection

    # -- adding ---------------------------------------------------------------------------------

    def add(self, items: Iterable[Article | IngestError]) -> IngestReport:
        self._check_model()
        report = IngestReport()
        pending: list[_Pending] = []
        for item in items:
            if isinstance(item, IngestError):
                report.fail(item.item, item.reason)
                continue
            planned = self._plan(item, report, pending)
            if planned:
                pending.append(planned)
            if sum(len(p.spans) for p in pending) >= self.commit_every_passages:
                self._commit(pending)
                pending = []
        self._commit(pending)
        self._save_vectors()
        return report

    def _plan(self, article: Article, report: IngestReport, pending: list[_Pending]) -> _Pending | None:
        article_id = article.article_id()
        existing = self.db.execute("SELECT id, content_hash FROM articles WHERE id = ?", (article_id,)).fetchone()
        label = article.url or article.title or article_id
        if existing and existing["content_hash"] == article.content_hash:
            report.unchanged += 1
            report.details.append({"item": label, "status": "unchanged", "id": article_id})
            return None
        duplicate_of = self._duplicate_of(article, article_id, pending)
        if duplicate_of:
            report.duplicates += 1
            report.details.append({"item": label, "status": "duplicate", "id": duplicate_of})
            return None
        spans = passage_spans(article.text, self.passage_chars)
        if not spans:
            report.fail(label, "the article has no text to index")
            return None
        status = "updated" if existing else "added"
        setattr(report, status, getattr(report, status) + 1)
        report.details.append({"item": label, "status": status, "id": article_id})
        return _Pending(article, article_id, status, spans)

    def _duplicate_of(self, article: Article, article_id: str, pending: list[_Pending]) -> str | None:
        content_hash = article.content_hash
        for other in pending:
            if other.article.content_hash == content_hash and other.article_id != article_id:
                return other.article_id
        row = self.db.execute(
            "SELECT id FROM articles WHERE content_hash = ? AND id != ?", (content_hash, article_id)
        ).fetchone()
        return row["id"] if row else None

    def _commit(self, pending: list[_Pending]) -> None:
        if pending:
            with self._transaction():
                self._store(pending)

    def _store(self, pending: list[_Pending]) -> None:
        embedded = iter(self.embedder.embed([_embedding_text(p.article, span) for p in pending for span in p.spans]))
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for planned in pending:
            if planned.action == "updated":
                self._delete_article(planned.article_id)
            if planned.action != "reembedded":
                self._insert_article(planned, now)
            self._insert_passages(planned, [next(embedded) for _ in planned.spans])

    def _insert_article(self, planned: _Pending, now: str) -> None:
        article = planned.article
        self.db.execute(
            "INSERT INTO articles (id, identity, title, source, url, published, added_at, content_hash, text, extra)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                planned.article_id,
                article.identity,
                article.title,
                article.source,
                article.url,
                article.published,
                now,
                article.content_hash,
                article.text,
                json.dumps(article.extra, ensure_ascii=False, default=str),
            ),
        )

    def _insert_passages(self, planned: _Pending, passage_vectors: list[np.ndarray]) -> None:
        ids = [
            self.db.execute(
                'INSERT INTO passages (article_id, ordinal, start, "end", vector) VALUES (?, ?, ?, ?, ?)',
                (planned.article_id, ordinal, span.start, span.end, vector.tobytes()),
            ).lastrowid
            for ordinal, (span, vector) in enumerate(zip(planned.spans, passage_vectors, strict=True))
        ]
        if self._faiss is not None:
            self._faiss.add_with_ids(np.vstack(passage_vectors), np.array(ids, dtype=np.int64))

    # -- removing -------------------------------------------------------------------------------

    def remove(self, id_or_url: str) -> StoredArticle:
        article = self.find(id_or_url)
        if article is None:
            raise NewsbotError(f"no article with id or URL '{id_or_url}'; `newsbot index list` shows what is indexed")
        with self._transaction():
            self._delete_article(article.id)
        self._save_vectors()
        return article

    def find(self, id_or_url: str) -> StoredArticle | None:
        row = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ? OR identity = ?",
            (id_or_url.strip(), normalize_url(id_or_url)),
        ).fetchone()
        return StoredArticle.from_row(row) if row else None

    def _delete_article(self, article_id: str) -> None:
        removed = [row["id"] for row in self.db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
        self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        if self._faiss is not None and removed:
            self._faiss.remove_ids(np.array(removed, dtype=np.int64))

    # -- rebuilding -----------------------------------------------------------------------------

    def rebuild(self, on_progress: Callable[[int], None] = lambda n: None) -> int:
        """Re-split and re-embed every article with the current settings, in one transaction."""
        rows = self.db.execute("SELECT id, title, text FROM articles ORDER BY id").fetchall()
        with self._transaction():
            self.db.execute("DELETE FROM passages")
            self._record_model()
            self._faiss = vectors.empty_index(self.embedder.dimension)
            for chunk in _chunks(rows, 64):
                self._store([self._pending_passages(row) for row in chunk])
                on_progress(len(chunk))
        self._save_vectors()
        return len(rows)

    def _pending_passages(self, row) -> _Pending:
        article = Article(text=row["text"], title=row["title"])
        return _Pending(article, row["id"], action="reembedded", spans=passage_spans(article.text, self.passage_chars))

    # -- shared machinery -----------------------------------------------------------------------

    def _check_model(self) -> None:
        recorded = get_meta(self.db, "model")
        if recorded is None:
            with self._transaction():
                self._record_model()
            return
        if recorded != self.embedder.model_id:
            raise ModelMismatchError(
                f"the index at {self.directory} was built with the model '{recorded}' "
                f"(dimension {get_meta(self.db, 'dimension')}), but EMBEDDING_MODEL is now "
                f"'{self.embedder.model_id}'; run `newsbot index rebuild` to re-embed every article with it"
            )

    def _record_model(self) -> None:
        set_meta(self.db, "model", self.embedder.model_id)
        set_meta(self.db, "dimension", self.embedder.dimension)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, bumping the generation; on error ROLLBACK and forget the FAISS copy."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self._faiss = None
            raise
        set_meta(self.db, "generation", generation(self.db) + 1)
        self.db.execute("COMMIT")

    def _save_vectors(self) -> None:
        dimension = int(get_meta(self.db, "dimension") or self.embedder.dimension)
        if self._faiss is None:
            self._faiss = vectors.build_from_database(self.db, dimension)
        vectors.save(self.directory, generation(self.db), self._faiss)


def _embedding_text(article: Article, span) -> str:
    passage = article.text[span.start : span.end]
    return f"{article.title}\n{passage}" if article.title else passage


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
