"""The bot state in PostgreSQL: the same queries as on SQLite (their `?` placeholders become psycopg's `%s`),
rows as dicts, a pool of connections shared by the bot's threads, and migrations applied under an advisory
lock (state/database.py) so that workers starting together agree on the schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from psycopg.rows import dict_row

from common.errors import StoreError
from common.postgres import pool, redacted, unreachable
from state.database import Database, Params, Row, migrate, only

# A quoted string or identifier (its `?` is no placeholder), a `?` placeholder, or a `%`.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


@lru_cache(maxsize=512)
def translated(sql: str) -> str:
    """`sql` with its `?` placeholders (outside quotes) as `%s`, and every `%` doubled: psycopg reads `%` as
    the start of a placeholder even inside quotes."""
    return _TOKENS.sub(lambda m: "%s" if m.group(0) == "?" else m.group(0).replace("%", "%%"), sql)


class _PostgresCursor:
    def __init__(self, cursor: psycopg.Cursor[Row]):
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Params = ()) -> _PostgresCursor:
        self._cursor.execute(translated(sql), tuple(params))
        return self

    def fetchone(self) -> Row | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Row]:
        return self._cursor.fetchall()

    def one(self) -> Row:
        return only(self.fetchone())

    def executemany(self, sql: str, params: list[Params]) -> None:
        self._cursor.executemany(translated(sql), params)


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.location = redacted(url)
        self._pool = pool(url, "newsbot-state")
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


def copy_state(source: Database, target: PostgresDatabase) -> dict[str, int]:
    """Copies every table of the SQLite state `source` into `target` (ids kept, in one transaction); returns
    the rows copied per table. A target that already holds exactly as many rows is taken as copied before and
    left alone; one that holds others is refused."""
    with source.transaction() as reading:
        tables = [
            row["name"]
            for row in reading.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name != 'schema_version' ORDER BY rowid"
            ).fetchall()
        ]
        rows = {table: reading.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables}
    with target.transaction() as writing:
        held = {table: writing.execute(f'SELECT count(*) AS n FROM "{table}"').one()["n"] for table in tables}
        if any(held.values()):
            if all(held[table] == len(rows[table]) for table in tables):
                return {}
            raise StoreError(
                f"the bot state at {target.location} already holds other rows; `index migrate` copies into an empty "
                "database only: use a new database, or empty this one first"
            )
        for table in tables:
            _copy_rows(writing, table, rows[table])
    return {table: len(rows[table]) for table in tables}


def _copy_rows(cursor: _PostgresCursor, table: str, rows: list[Row]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{column}"' for column in columns)
    insert = f'INSERT INTO "{table}" ({names}) OVERRIDING SYSTEM VALUE VALUES ({", ".join("?" * len(columns))})'
    cursor.executemany(insert, [tuple(row[column] for column in columns) for row in rows])
    identities = cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND is_identity = 'YES'", (table,)
    ).fetchall()
    for identity in identities:
        column = identity["column_name"]
        cursor.execute(
            f'SELECT setval(pg_get_serial_sequence(?, ?), (SELECT max("{column}") FROM "{table}"))', (table, column)
        )
