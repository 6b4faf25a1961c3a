"""The server store: PostgreSQL + pgvector, for several processes on several machines. Every read is one
transaction on a pooled connection; the one writer holds an advisory lock on a connection of its own.

Dense search uses the HNSW index when enough passages pass the filters for it to fill the results, else an
exact scan of the passages that pass them: pgvector 0.6 (what pgserver ships) has no iterative index scans, so
an HNSW scan with a selective filter would return too few rows."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from common.errors import StoreError
from common.postgres import connect, one, pool, redacted, scalar, try_lock, unreachable
from index import sentence_vectors
from index.postgres import schema
from index.postgres.keywords import bm25_sql, query_terms
from index.postgres.schema import ARTICLE_COLUMNS, HNSW_EF_CONSTRUCTION, HNSW_M, PASSAGE_COLUMNS, conditions
from index.postgres.writer import PostgresWriter
from index.store import ensure_model, index_busy, problems_found
from index.types import Filters, Hit, Passage, StoredArticle

VOCABULARY_SECONDS = 60.0
INDEX_WRITER_LOCK = 0x6E657773_00000001  # one writer at a time across machines
EXACT_BELOW = 20_000  # passages: scanning this many exactly takes a few milliseconds, and is never approximate
HNSW_MAX_EF = 1000  # pgvector's largest hnsw.ef_search
HNSW_MARGIN = 2  # the HNSW scan is used when it should find this many times the rows asked for
PARTS = ("articles", "passages", "postings", "words", "sentence_vectors")  # tables, with their indexes


def _configure(connection: psycopg.Connection) -> None:
    register_vector(connection)
    connection.commit()


class PostgresStore:
    exact_below = EXACT_BELOW

    def __init__(self, location: str, expected_model: str | None = None, create: bool = False):
        self.url = location
        self.location = redacted(location)
        self._vocabulary: tuple[float, Mapping[str, int] | None] = (0.0, None)
        self.expected_model = expected_model
        with connect(location, autocommit=True) as connection:
            version = schema.schema_version(connection)
            if version is None and not create:
                raise StoreError(f"no index at {self.location}: add articles first with `newsbot index add PATH|URL`")
            if version is None or version < schema.latest_version():  # an index written by an older newsbot too
                schema.migrate(connection)
        try:
            self._pool = pool(location, "newsbot-index", _configure)
        except psycopg.Error as error:
            raise unreachable(location, error) from None

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in a transaction: one consistent view of the index."""
        try:
            with self._pool.connection() as connection:
                yield connection
        except psycopg.OperationalError as error:
            raise unreachable(self.url, error) from None

    def model(self) -> tuple[str, int] | None:
        with self._read() as db:
            return schema.model(db)

    def _check_model(self, db: psycopg.Connection) -> None:
        ensure_model(self.location, schema.get_meta(db, "model"), self.expected_model)

    # -- search ----------------------------------------------------------------------------------

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        if k <= 0:
            return []
        wanted = k
        where, values = conditions(filters, "p")
        query = np.asarray(vector, dtype=np.float32).ravel()
        with self._read() as db:
            self._check_model(db)
            total, _, matching = self._counts(db, filters)
            wanted = min(wanted, matching)
            if wanted == 0:
                return []
            sql = (
                "SELECT p.id, p.article_id, p.day, 1 - (p.embedding <=> %s), p.ordinal FROM passages p"
                f" WHERE {where} ORDER BY p.embedding <=> %s LIMIT %s"
            )
            params = [query, *values, query, wanted]
            ef = self._hnsw_ef(total, matching, wanted)
            rows = []
            if ef:
                db.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef),))
                rows = db.execute(sql, params).fetchall()
            if len(rows) < wanted:  # exact: no HNSW, or it came back short
                db.execute("SET LOCAL enable_indexscan = off")
                rows = db.execute(sql, params).fetchall()
        return [_hit(row) for row in rows[:k]]

    def _hnsw_ef(self, total: int, matching: int, wanted: int) -> int | None:
        """The HNSW scan's breadth (hnsw.ef_search) when it should find `wanted` rows among the `matching`
        passages of `total`; None when an exact scan is the better plan."""
        ef = min(HNSW_MAX_EF, max(40, HNSW_MARGIN * wanted))
        if matching < self.exact_below or ef * matching / total < HNSW_MARGIN * wanted:
            return None
        return ef

    def _counts(self, db: psycopg.Connection, filters: Filters | None) -> tuple[int, int, int]:
        """(passages, their terms, passages passing `filters`), from the per-article counts."""
        where, values = conditions(filters, "a")
        row = one(
            db,
            "SELECT coalesce(sum(passage_count), 0), coalesce(sum(term_count), 0),"
            f" coalesce(sum(passage_count) FILTER (WHERE {where}), 0) FROM articles a",
            values,
        )
        return int(row[0]), int(row[1]), int(row[2])

    def keyword_search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        terms, repeats = query_terms(query)
        if k <= 0 or not terms:
            return []
        where, values = conditions(filters, "p")
        with self._read() as db:
            self._check_model(db)
            total, term_total, matching = self._counts(db, filters)
            if matching == 0:
                return []
            average_length = term_total / total if term_total else 1.0
            rows = db.execute(
                bm25_sql(where if filters else None),
                [terms, repeats, total, average_length, *values, k],
            ).fetchall()
        return [_hit(row) for row in rows]

    def vocabulary(self) -> Mapping[str, int]:
        """The words table, read again after this process writes or when VOCABULARY_SECONDS have passed (typo
        matching asks on every question; a word another process added, known a minute late, is no loss)."""
        read_at, words = self._vocabulary
        if words is None or time.monotonic() - read_at > VOCABULARY_SECONDS:
            with self._read() as db:
                self._check_model(db)
                words = dict(db.execute("SELECT word, passages FROM words").fetchall())
            self._vocabulary = (time.monotonic(), words)
        return words

    # -- reading ---------------------------------------------------------------------------------

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        with self._read() as db:
            rows = db.execute(
                f"SELECT {PASSAGE_COLUMNS}, {ARTICLE_COLUMNS} FROM passages p JOIN articles a ON a.id = p.article_id"
                " WHERE p.id = ANY(%s)",
                (list(ids),),
            ).fetchall()
        return {row[0]: schema.passage_from_row(row) for row in rows}

    def sentence_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        with self._read() as db:
            model = schema.model(db)
            if model is None:
                return {}
            rows = db.execute(
                "SELECT passage_id, vectors FROM sentence_vectors WHERE passage_id = ANY(%s)", (list(ids),)
            ).fetchall()
        return {passage_id: sentence_vectors.unpack(blob, model[1]) for passage_id, blob in rows}

    def lead_passages(self, article_ids: Sequence[str], per_article: int) -> dict[str, list[Passage]]:
        leads: dict[str, list[Passage]] = {article_id: [] for article_id in article_ids}
        with self._read() as db:
            rows = db.execute(
                f"SELECT {PASSAGE_COLUMNS}, {ARTICLE_COLUMNS} FROM passages p JOIN articles a ON a.id = p.article_id"
                " WHERE p.article_id = ANY(%s) AND p.ordinal < %s ORDER BY p.article_id, p.ordinal",
                (list(leads), per_article),
            ).fetchall()
        for row in rows:
            passage = schema.passage_from_row(row)
            leads[passage.article.id].append(passage)
        return leads

    def article_vectors(self, article_ids: Sequence[str]) -> np.ndarray:
        rows_of = {article_id: row for row, article_id in enumerate(article_ids)}
        model = self.model()
        means = np.zeros((len(rows_of), model[1] if model else 0), dtype=np.float32)
        with self._read() as db:
            for article_id, mean in db.execute(
                "SELECT article_id, avg(embedding) FROM passages WHERE article_id = ANY(%s) GROUP BY article_id",
                (list(rows_of),),
            ):
                means[rows_of[article_id]] = mean.to_numpy()
        unit: np.ndarray = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        return unit

    def articles(self, limit: int | None = None, filters: Filters | None = None) -> list[StoredArticle]:
        where, values = conditions(filters, "a")
        with self._read() as db:
            rows = db.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles a WHERE {where} ORDER BY a.day DESC, a.added_seq DESC LIMIT %s",
                [*values, limit],
            ).fetchall()
        return [schema.article_from_row(row) for row in rows]

    def sources(self) -> list[str]:
        with self._read() as db:
            rows = db.execute("SELECT min(source) FROM articles WHERE source <> '' GROUP BY source_key").fetchall()
        return [row[0] for row in rows]

    def find(self, article_id: str, identity: str | None = None) -> StoredArticle | None:
        with self._read() as db:
            row = db.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = %s OR a.identity = %s", (article_id, identity)
            ).fetchone()
        return schema.article_from_row(row) if row else None

    def content_hash(self, article_id: str) -> str | None:
        with self._read() as db:
            row = db.execute("SELECT content_hash FROM articles WHERE id = %s", (article_id,)).fetchone()
        return row[0] if row else None

    def duplicate_of(self, content_hash: str, article_id: str) -> str | None:
        with self._read() as db:
            row = db.execute(
                "SELECT id FROM articles WHERE content_hash = %s AND id != %s LIMIT 1", (content_hash, article_id)
            ).fetchone()
        return row[0] if row else None

    def texts(self) -> Iterator[tuple[str, str, str]]:
        with self._read() as db, db.cursor(name="newsbot_texts") as cursor:
            cursor.itersize = 64
            yield from cursor.execute("SELECT id, title, text FROM articles ORDER BY id")

    def mark(self) -> int:
        with self._read() as db:
            return int(scalar(db, "SELECT coalesce(max(added_seq), 0) FROM articles"))

    def stats(self) -> dict[str, Any]:
        with self._read() as db:
            articles, passages, oldest, newest = one(
                db,
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM passages),"
                " (SELECT min(published) FROM articles), (SELECT max(published) FROM articles)",
            )
            sizes = dict(
                db.execute(
                    "SELECT name, coalesce(pg_total_relation_size(to_regclass(name)), 0) FROM unnest(%s::text[]) AS name",
                    (list(PARTS),),
                ).fetchall()
            )
            hnsw = scalar(db, f"SELECT coalesce(pg_relation_size(to_regclass('{schema.HNSW_INDEX}')), 0)")
            model = schema.model(db)
        parts = {name: int(size) for name, size in sizes.items()}
        parts["passages"] -= int(hnsw)
        parts["hnsw_index"] = int(hnsw)
        return {
            "articles": articles,
            "passages": passages,
            "model": model[0] if model else None,
            "dimension": model[1] if model else None,
            "bytes": sum(parts.values()),
            "newest_published": newest,
            "oldest_published": oldest,
            "dense_search": f"hnsw (m {HNSW_M}, ef_construction {HNSW_EF_CONSTRUCTION})",
            "parts": parts,
        }

    # -- checking and backing up ------------------------------------------------------------------

    def check(self) -> list[str]:
        """Besides the rows, passages whose articles are gone (PostgreSQL checks its own pages; `amcheck` goes
        further)."""
        with self._read() as db:
            return problems_found(self.location, _Inspection(db, self.location))

    def probe(self) -> None:
        with self._read() as db:
            db.execute("SELECT count(*) FROM articles").fetchone()

    def repair(self) -> list[str]:
        return []  # nothing is derived outside the database: PostgreSQL keeps its indexes itself

    def backup(self, path: str) -> str:
        raise StoreError(
            f"the index is in PostgreSQL ({self.location}): back it up with the database's own tools, e.g. "
            "`pg_dump --format=custom --file=newsbot.dump DBNAME`, or your provider's snapshots"
        )

    # -- writing ---------------------------------------------------------------------------------

    @contextmanager
    def writer(self, wait: float = 0.0) -> Iterator[PostgresWriter]:
        with connect(self.url) as connection:
            connection.autocommit = True
            if not try_lock(connection, INDEX_WRITER_LOCK, wait):
                raise index_busy(self.location)
            connection.autocommit = False
            _configure(connection)
            try:
                yield PostgresWriter(connection)
            finally:
                self._vocabulary = (0.0, None)  # this process reads its own writes at once
                _unlock(connection)


class _Inspection:
    """What `check` reads from the index's tables."""

    def __init__(self, db: psycopg.Connection, location: str):
        self.db, self.location = db, location

    def damage(self) -> list[str]:
        return []

    def schema_versions(self) -> tuple[int, int]:
        return schema.schema_version(self.db) or 0, schema.latest_version()

    def passage_count(self) -> int:
        return int(scalar(self.db, "SELECT count(*) FROM passages"))

    def model(self) -> tuple[str, int] | None:
        return schema.model(self.db)

    def misfit_vectors(self, dimension: int) -> int:
        query = "SELECT count(*) FROM passages WHERE vector_dims(embedding) != %s"
        return int(scalar(self.db, query, (dimension,)))

    def misfit_sentence_vectors(self, row_bytes: int) -> int:
        query = "SELECT count(*) FROM sentence_vectors WHERE octet_length(vectors) = 0 OR octet_length(vectors) %% %s != 0"
        return int(scalar(self.db, query, (row_bytes,)))

    def derived_problems(self, passages: int, dimension: int) -> list[str]:
        query = "SELECT count(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = p.article_id)"
        orphans = int(scalar(self.db, query))
        return [f"{self.location}: {orphans} passages belong to no article"] if orphans else []


def _unlock(connection: psycopg.Connection) -> None:
    """Releases the writer lock now, not when the server notices the connection closed (the next writer may be
    this process, a moment later); a broken connection releases it anyway."""
    with suppress(psycopg.Error):
        connection.rollback()
        connection.execute("SELECT pg_advisory_unlock(%s)", (INDEX_WRITER_LOCK,))


def _hit(row: Sequence[Any]) -> Hit:
    """(passage id, article id, day, score, ordinal) as a Hit."""
    return Hit(row[0], row[1], float(row[3]), row[2], row[4])


def index_exists(location: str) -> bool:
    with connect(location, autocommit=True) as connection:
        return schema.schema_version(connection) is not None
