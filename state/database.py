"""The state database's interface: SQLite at a path (state/sqlite.py) or PostgreSQL at a URL (state/postgres.py),
opened by state/backends.py. Queries are written once, with `?` placeholders; the schema comes from the
numbered migration files of each dialect (migrations/<dialect>/), applied by the common runner and recorded in
`schema_version`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol

from common.migrations import VersionTable, advisory_lock, read_migrations
from common.migrations import migrate as run_migrations

Row = dict[str, Any]
Params = Sequence[object]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...

    def one(self) -> Row:
        """The row a query always returns (a count, an INSERT ... RETURNING)."""
        ...


class Database(Protocol):
    dialect: str  # "sqlite" or "postgresql": which migrations apply

    def transaction(self) -> AbstractContextManager[Cursor]:
        """A cursor inside a transaction, committed when the block ends, rolled back if it raises."""
        ...

    def close(self) -> None:
        """Closes its connections; the database is not used after."""
        ...


ROW_ID_MAX = 2**63 - 1  # the largest integer SQLite and PostgreSQL (BIGINT) store


def is_row_id(number: int) -> bool:
    """Whether `number` (a feed's or a schedule's number, as a user typed it) can be a row's id; a bigger one
    can't even be compared with one in SQLite."""
    return 0 < number <= ROW_ID_MAX


def only(row: Row | None) -> Row:
    if row is None:
        raise LookupError("the query returned no row")
    return row


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
