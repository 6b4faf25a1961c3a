"""The state database: SQLite at a path, or PostgreSQL at a URL, behind one small interface. Queries are
written once, with `?` placeholders; the schema comes from the numbered migration files of each dialect,
applied by the common runner and recorded in `schema_version`."""

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
from common.migrations import VersionTable, advisory_lock, read_migrations
from common.migrations import migrate as run_migrations


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


VERSIONS = VersionTable("schema_version")
MIGRATION_LOCK = 0x6E657773_00000003  # PostgreSQL advisory lock key (64-bit); the index's are in index.postgres


class _Schema:
    """The runner's view of a state database: the versions in `schema_version`; on PostgreSQL, migrators take
    turns on an advisory lock."""

    def __init__(self, database: Database):
        self.database = database

    def current(self) -> int:
        with self.step() as cursor:
            return self.version(cursor)

    @contextmanager
    def step(self) -> Iterator[Cursor]:
        with self.database.transaction() as cursor:
            if self.database.dialect == "postgresql":
                cursor.execute(advisory_lock(MIGRATION_LOCK))
            VERSIONS.create(cursor)
            yield cursor

    def version(self, cursor: Cursor) -> int:
        return VERSIONS.version(cursor)

    def record(self, cursor: Cursor, version: int) -> None:
        VERSIONS.record(cursor, version)


def migrate(database: Database) -> None:
    """Applies the migrations of the database's dialect (migrations/<dialect>/NNN_name.sql) it has not had yet."""
    folder = resources.files(__package__).joinpath("migrations", database.dialect)
    run_migrations(_Schema(database), read_migrations(folder))
