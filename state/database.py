"""The state database: SQLite at a path, or PostgreSQL at a URL, behind one small interface. Queries are
written once, with `?` placeholders; the schema comes from the numbered migration files of each dialect,
applied in order and recorded in `schema_version`."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Protocol

from common.errors import StoreError


class Cursor(Protocol):
    rowcount: int

    def execute(self, sql: str, params: Sequence = ()) -> Cursor: ...

    def fetchone(self) -> dict | None: ...

    def fetchall(self) -> list[dict]: ...


class Database(Protocol):
    dialect: str  # "sqlite" or "postgresql": which migrations apply

    def transaction(self) -> AbstractContextManager[Cursor]:
        """A cursor inside a transaction, committed when the block ends, rolled back if it raises."""
        ...


def open_database(location: str) -> Database:
    if location.startswith(("postgresql://", "postgres://")):
        from state.postgres import PostgresDatabase

        return PostgresDatabase(location)
    return SQLiteDatabase(Path(location))


class _SQLiteCursor:
    def __init__(self, connection: sqlite3.Connection):
        self._cursor = connection.cursor()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Sequence = ()) -> _SQLiteCursor:
        self._cursor.execute(sql, tuple(params))
        return self

    def fetchone(self) -> dict | None:
        row = self._cursor.fetchone()
        return dict(row) if row is not None else None

    def fetchall(self) -> list[dict]:
        return [dict(row) for row in self._cursor.fetchall()]


class SQLiteDatabase:
    """A connection per thread, kept for the next transaction (sqlite3 connections must not be shared by threads
    in a transaction); in WAL mode the CLI and the bot use the file at the same time."""

    dialect = "sqlite"

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        migrate(self)

    @contextmanager
    def transaction(self) -> Iterator[_SQLiteCursor]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteCursor(connection)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
        return connection

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            # Commits are not flushed to disk one by one (a flush per answer held up every other answer): a crashed
            # process loses nothing, a power cut at most the last transactions, never half of one.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"can't open the bot state {self.path} ({error}); check BOT_STATE_PATH, or move the file away "
                "(a new one starts empty: conversations, schedules and feeds are lost) or restore a copy"
            ) from None
        return connection


def stamp(moment: datetime) -> str:
    """An aware datetime as a UTC ISO timestamp, which orders as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def migrate(database: Database) -> None:
    """Applies the migrations of the database's dialect that it has not had yet, each in one transaction."""
    folder = resources.files("state").joinpath("migrations", database.dialect)
    steps = sorted((int(item.name.split("_")[0]), item) for item in folder.iterdir() if item.name.endswith(".sql"))
    with database.transaction() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    for version, item in steps:
        with database.transaction() as cursor:  # read and applied in one transaction: two processes agree
            row = cursor.execute("SELECT max(version) AS version FROM schema_version").fetchone()
            if version > ((row or {}).get("version") or 0):
                for statement in _statements(item.read_text()):
                    cursor.execute(statement)
                cursor.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))


def _statements(script: str) -> list[str]:
    """The statements of a migration file: `--` comment lines dropped, split at semicolons."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]
