"""The base of newsbot's small SQLite stores (schedules, feeds): a connection per operation, so that the
CLI and the bot can use one store at the same time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


class SQLiteStore:
    schema: str = ""  # CREATE TABLE IF NOT EXISTS ... statements

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._db() as db:
            db.executescript(self.schema)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a transaction, committed on success, closed either way."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.row_factory = sqlite3.Row
            yield db
