"""The index's tables in PostgreSQL: versioned migrations (index/postgres/migrations/NNN_name.sql, applied by the
common runner under an advisory lock and recorded in `index_schema_version`), the model and dimension, the filters as
SQL, and rows as the index's types."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg

from common.migrations import VersionTable, advisory_lock, latest, read_migrations
from common.migrations import migrate as run_migrations
from common.postgres import scalar
from index.types import Filters, Passage, StoredArticle

ARTICLE_COLUMNS = "a.id, a.title, a.source, a.url, a.published, a.added_at, a.content_hash, a.extra"
PASSAGE_COLUMNS = 'p.id AS passage_id, p.ordinal, p.start, p."end", substr(a.text, p.start + 1, p."end" - p.start)'
HNSW_INDEX = "passages_embedding"
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64  # pgvector's defaults, written out: links per node, candidates while building
INDEX_MIGRATION_LOCK = 0x6E657773_00000002  # advisory lock keys (64-bit, per database): see also state.database


VERSIONS = VersionTable("index_schema_version", "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()")
MIGRATIONS = read_migrations(resources.files(__package__).joinpath("migrations"))


def latest_version() -> int:
    """The version this newsbot writes: its newest migration's."""
    return latest(MIGRATIONS)


def schema_version(connection: psycopg.Connection) -> int | None:
    """The newest migration applied; None when the database holds no index."""
    if scalar(connection, "SELECT to_regclass('index_schema_version')") is None:
        return None
    return VERSIONS.version(connection)


class _Schema:
    """The runner's view of the index's tables; migrators take turns on an advisory lock."""

    def __init__(self, connection: psycopg.Connection):
        self.connection = connection

    def current(self) -> int:
        return schema_version(self.connection) or 0

    @contextmanager
    def step(self) -> Iterator[psycopg.Connection]:
        with self.connection.transaction():
            self.connection.execute(advisory_lock(INDEX_MIGRATION_LOCK))
            VERSIONS.create(self.connection)
            yield self.connection

    def version(self, cursor: psycopg.Connection) -> int:
        return VERSIONS.version(cursor)

    def record(self, cursor: psycopg.Connection, version: int) -> None:
        VERSIONS.record(cursor, version)


def migrate(connection: psycopg.Connection) -> None:
    """Applies the migrations the database has not had (each in a transaction); concurrent migrators take turns."""
    run_migrations(_Schema(connection), MIGRATIONS)


def get_meta(connection: psycopg.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM index_meta WHERE key = %s", (key,)).fetchone()
    return row[0] if row else None


def set_meta(connection: psycopg.Connection, key: str, value: object) -> None:
    connection.execute(
        "INSERT INTO index_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, str(value)),
    )


def model(connection: psycopg.Connection) -> tuple[str, int] | None:
    rows: dict[str, str] = dict(connection.execute("SELECT key, value FROM index_meta WHERE key IN ('model', 'dimension')").fetchall())
    return (rows["model"], int(rows["dimension"])) if rows.get("model") and rows.get("dimension") else None


def set_dimension(connection: psycopg.Connection, dimension: int) -> None:
    """Gives `passages.embedding` the type vector(dimension) and an HNSW index (cosine) on it. Changing the
    dimension takes an exclusive lock on the passages, so only a rebuild with a new model does it, and only
    after deleting them."""
    current = scalar(connection,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = 'passages'::regclass AND attname = 'embedding'"
    )
    if current != f"vector({dimension})":
        connection.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
        connection.execute(f"ALTER TABLE passages ALTER COLUMN embedding TYPE vector({int(dimension)})")
    connection.execute(
        f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON passages USING hnsw (embedding vector_cosine_ops)"
        f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
    )


def conditions(filters: Filters | None, table: str) -> tuple[str, list[object]]:
    """`filters` as an SQL condition on the filter columns of `table` (an alias of articles or passages)."""
    clauses: list[str] = ["TRUE"]
    values: list[object] = []
    filters = filters or Filters()
    if filters.sources:
        clauses.append(f"{table}.source_key = ANY(%s)")
        values.append([source.lower() for source in filters.sources])
    if filters.published_from:  # `day`: the publication day, else the day it was added
        clauses.append(f"{table}.day >= %s")
        values.append(filters.published_from)
    if filters.published_to:
        clauses.append(f"{table}.day <= %s")
        values.append(filters.published_to)
    if filters.until:
        clauses.append(f"{table}.day <= %s")
        values.append(filters.until)
    if filters.added_after is not None:
        clauses.append(f"{table}.added_seq > %s")
        values.append(filters.added_after)
    return " AND ".join(clauses), values


def article_from_row(row: Sequence[Any]) -> StoredArticle:
    article_id, title, source, url, published, added_at, content_hash, extra = row
    return StoredArticle(article_id, title, source, url, published, added_at, content_hash, extra)


def passage_from_row(row: Sequence[Any]) -> Passage:
    passage_id, ordinal, start, end, text = row[:5]
    return Passage(passage_id, article_from_row(row[5:]), ordinal, start, end, text)
