"""The bot state in PostgreSQL: the same queries as on SQLite (their `?` placeholders become psycopg's `%s`),
rows as dicts, a pool of connections shared by the bot's threads, and migrations applied under an advisory
lock so that workers starting together agree on the schema."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from psycopg.rows import dict_row

from index.postgres.connection import STATE_MIGRATION_LOCK, locked, pool, redacted, unreachable
from state.database import migrate

# A quoted string or identifier (its `?` is no placeholder), a `?` placeholder, or a `%`.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


@lru_cache(maxsize=512)
def translated(sql: str) -> str:
    """`sql` with its `?` placeholders (outside quotes) as `%s`, and every `%` doubled: psycopg reads `%` as
    the start of a placeholder even inside quotes."""
    return _TOKENS.sub(lambda m: "%s" if m.group(0) == "?" else m.group(0).replace("%", "%%"), sql)


class _PostgresCursor:
    def __init__(self, cursor: psycopg.Cursor):
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Sequence = ()) -> _PostgresCursor:
        self._cursor.execute(translated(sql), tuple(params))
        return self

    def fetchone(self) -> dict | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[dict]:
        return self._cursor.fetchall()


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.location = redacted(url)
        self._pool = pool(url, "newsbot-state")
        with locked(url, STATE_MIGRATION_LOCK):
            migrate(self)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresCursor]:
        try:
            with self._pool.connection() as connection, connection.transaction():
                with connection.cursor(row_factory=dict_row) as cursor:
                    yield _PostgresCursor(cursor)
        except psycopg.OperationalError as error:
            raise unreachable(self.url, error) from None

    def close(self) -> None:
        self._pool.close()
