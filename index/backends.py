"""Which store a location names, opened: a PostgreSQL URL (common/locations.py decides) is PostgreSQL + pgvector
(index/postgres), anything else a folder of SQLite + FAISS (index/sqlite). Each backend is imported only when named."""

from __future__ import annotations

from common.locations import database_url, is_database_url
from index.store import Store
from index.types import Layout


def open_store(
    location: str, expected_model: str | None = None, create: bool = False, layout: Layout | None = None
) -> Store:
    """The store at `location`: a PostgreSQL URL, or a folder for SQLite + FAISS (split and searched as
    `layout` says). With `expected_model`, searching an index built with another model raises ModelMismatchError."""
    if is_database_url(location):
        from index.postgres import PostgresStore

        return PostgresStore(database_url(location), expected_model, create)
    from index.sqlite import SQLiteStore

    return SQLiteStore(location, expected_model, create, layout)


def index_exists(location: str) -> bool:
    """Whether `location` (a PostgreSQL URL or a folder) holds an index."""
    if is_database_url(location):
        from index.postgres import index_exists as in_database

        return in_database(database_url(location))
    from index.sqlite import index_exists as in_folder

    return in_folder(location)
