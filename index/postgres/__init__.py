"""The server index store: PostgreSQL + pgvector."""

from index.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
