"""The server index store: PostgreSQL + pgvector."""

from index.postgres.store import PostgresStore, index_exists

__all__ = ["PostgresStore", "index_exists"]
