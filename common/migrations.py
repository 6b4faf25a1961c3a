"""The one migration runner, for the index and the bot state, on SQLite and on PostgreSQL.

A schema is a folder of numbered SQL files (`003_identities.sql`), applied in order, each in a transaction of its
own; a step that recomputes data registers a function under its number (run after its file's statements, in the
same transaction, or alone when there is no file). Where the version is kept is the database's own affair (a
version table, or a `meta` row for indexes written before this runner), as is how a transaction starts: each
database gives the runner a `Schema`. The runner reads the version again inside each step's transaction, under
SQLite's write lock or a PostgreSQL advisory lock, so that processes starting together apply each step once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, sql: str, /) -> Any: ...


Recompute = Callable[[Any], None]  # given the step's cursor


@dataclass(frozen=True)
class Migration:
    version: int
    statements: tuple[str, ...] = ()
    recompute: Recompute | None = None


class Schema(Protocol):
    """A database the runner brings up to date."""

    def current(self) -> int:
        """The version, read without the lock: when it is the newest, nothing is locked or written."""
        ...

    def step(self) -> AbstractContextManager[Any]:
        """A transaction holding the lock that makes migrators take turns; yields its cursor."""
        ...

    def version(self, cursor: Any) -> int:
        """The newest step applied (0 for an empty database), read inside `step()`."""
        ...

    def record(self, cursor: Any, version: int) -> None: ...


def read_migrations(folder: Traversable, functions: Mapping[int, Recompute] | None = None) -> list[Migration]:
    """The steps of `folder`'s NNN_name.sql files and of the registered `functions`, in order."""
    scripts = {int(item.name.split("_")[0]): item.read_text() for item in folder.iterdir() if item.name.endswith(".sql")}
    functions = functions or {}
    return [
        Migration(version, statements(scripts.get(version, "")), functions.get(version))
        for version in sorted(scripts.keys() | functions.keys())
    ]


def statements(script: str) -> tuple[str, ...]:
    """The statements of an SQL file: `--` comment lines dropped, split at semicolons."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return tuple(statement.strip() for statement in code.split(";") if statement.strip())


def migrate(schema: Schema, migrations: Sequence[Migration]) -> int:
    """Applies every step newer than the database's version; returns the version it is at."""
    version = schema.current()
    for migration in [step for step in migrations if step.version > version]:
        with schema.step() as cursor:
            version = schema.version(cursor)
            if migration.version <= version:
                continue
            for statement in migration.statements:
                cursor.execute(statement)
            if migration.recompute is not None:
                migration.recompute(cursor)
            schema.record(cursor, migration.version)
            version = migration.version
    return version


def latest(migrations: Sequence[Migration]) -> int:
    """The version this newsbot writes: its newest step's."""
    return migrations[-1].version if migrations else 0


@dataclass(frozen=True)
class VersionTable:
    """Versions kept as rows of a table: the newest step applied is the largest."""

    table: str
    columns: str = "version INTEGER NOT NULL"

    def create(self, cursor: Cursor) -> None:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ({self.columns})")

    def version(self, cursor: Cursor) -> int:
        row = cursor.execute(f"SELECT coalesce(max(version), 0) AS version FROM {self.table}").fetchone()
        return int(row["version"] if isinstance(row, Mapping) else row[0])

    def record(self, cursor: Cursor, version: int) -> None:
        cursor.execute(f"INSERT INTO {self.table} (version) VALUES ({int(version)})")


def advisory_lock(key: int) -> str:
    """The statement that makes PostgreSQL migrators take turns until their transaction ends."""
    return f"SELECT pg_advisory_xact_lock({int(key)})"
