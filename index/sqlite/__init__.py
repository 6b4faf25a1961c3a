"""The embedded index store: SQLite + FAISS in one folder."""

from index.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
