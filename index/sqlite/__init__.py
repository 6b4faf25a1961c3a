"""The embedded index store: SQLite + FAISS in one folder."""

from index.sqlite.store import SQLiteStore, index_exists

__all__ = ["SQLiteStore", "index_exists"]
