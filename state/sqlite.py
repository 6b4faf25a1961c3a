"""The bot state in SQLite: one file, a connection per thread, WAL mode so the CLI and the bot use it at once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.errors import StoreError
from state.database import Params, Row, migrate, only


class _SQLiteCursor:
    def __init__(self, connection: sqlite3.Connection):
        self._cursor = connection.cursor()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Params = ()) -> _SQLiteCursor:
        self._cursor.execute(sql, tuple(params))
        return self

    def fetchone(self) -> Row | None:
        row = self._cursor.fetchone()
        return dict(row) if row is not None else None

    def fetchall(self) -> list[Row]:
        return [dict(row) for row in self._cursor.fetchall()]

    def one(self) -> Row:
        return only(self.fetchone())


class SQLiteDatabase:
    """A connection per thread, kept for the next transaction (sqlite3 connections must not be shared by threads
    in a transaction); in WAL mode the CLI and the bot use the file at the same time."""

    dialect = "sqlite"

    def __init__(self, path: Path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"can't create the folder of the bot state {path} ({error.strerror}); set BOT_STATE_PATH to a file "
                "in a folder newsbot may write"
            ) from None
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []  # every thread's, to close them all
        self._opening = threading.Lock()
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

    def close(self) -> None:
        with self._opening:
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
            with self._opening:
                self._opened.append(connection)
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
