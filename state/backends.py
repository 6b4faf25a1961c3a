"""Which state database a location names, opened: a PostgreSQL URL (common/locations.py decides) is PostgreSQL
(state/postgres.py, imported only then), anything else an SQLite file (state/sqlite.py)."""

from __future__ import annotations

from pathlib import Path

from common.locations import database_url, is_database_url
from state.database import Database


def open_database(location: str) -> Database:
    if is_database_url(location):
        from state.postgres import PostgresDatabase

        return PostgresDatabase(database_url(location))
    from state.sqlite import SQLiteDatabase

    return SQLiteDatabase(Path(location))
