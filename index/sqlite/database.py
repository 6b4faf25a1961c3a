"""The SQLite file of an index: articles, passages and their vectors, the source of truth. Opened in WAL mode
with synchronous=FULL, so that a commit survives a crash and readers never wait for a writer; its schema is
migrations/NNN_*.sql (and a registered function) applied by the common runner."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from common.errors import CorruptIndexError, StoreError
from common.migrations import latest, read_migrations
from common.migrations import migrate as run_migrations
from index.articles import url_identity
from index.types import Passage, StoredArticle

DATABASE_NAME = "index.sqlite"
ARTICLE_COLUMNS = "id, title, source, url, published, added_at, content_hash, extra"
SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_CANTOPEN = 11, 26, 14
T = TypeVar("T")
Connection = sqlite3.Connection  # what `connect` returns, for modules that must not import sqlite3 themselves


Params = Any  # what sqlite3 takes: a sequence, or a mapping of names


class _Cursor(sqlite3.Cursor):
    """Any statement or fetch that finds the file damaged raises CorruptIndexError naming it."""

    @property
    def path(self) -> Path:
        connection = self.connection
        assert isinstance(connection, _Connection)  # cursors are made by _Connection.cursor
        return connection.path

    def execute(self, sql: str, parameters: Params = (), /) -> _Cursor:
        with damage_reported(self.path):
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Params], /) -> _Cursor:
        with damage_reported(self.path):
            return super().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        with damage_reported(self.path):
            return super().executescript(script)

    def fetchone(self) -> Any:
        with damage_reported(self.path):
            return super().fetchone()

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        with damage_reported(self.path):
            return super().fetchmany(size)

    def fetchall(self) -> list[Any]:
        with damage_reported(self.path):
            return super().fetchall()

    def __next__(self) -> Any:
        with damage_reported(self.path):
            return super().__next__()


class _Connection(sqlite3.Connection):
    path: Path

    def cursor(self, factory: None = None) -> _Cursor:  # type: ignore[override]  # always our damage-reporting cursor
        return super().cursor(_Cursor)

    def execute(self, sql: str, parameters: Params = (), /) -> _Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Params], /) -> _Cursor:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        return self.cursor().executescript(script)


@contextmanager
def damage_reported(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.DatabaseError as error:
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
            raise corrupt(path, error) from None
        raise


def connect(directory: Path, create: bool = False, migrate: bool = False) -> sqlite3.Connection:
    """A connection to the index in `directory`; with `create`, the index is made first; with `migrate` (or
    `create`), an index written by an older newsbot is brought up to date."""
    path = directory / DATABASE_NAME
    if not create and not path.exists():
        raise StoreError(f"no index at {directory}: add articles first with `newsbot index add PATH|URL`")
    directory.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    try:
        connection = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False, factory=_Connection
        )
        connection.path = path
        connection.row_factory = sqlite3.Row
        if new:
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")  # before the first table: pruning gives space back
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        if create or migrate:
            run_migrations(_Schema(connection), MIGRATIONS)
    except sqlite3.DatabaseError as error:
        if (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_CANTOPEN:
            raise StoreError(
                f"can't open {path} ({error}); check that it is a file newsbot may read and write"
            ) from None
        raise corrupt(path, error) from None
    return connection


def corrupt(path: Path, error: Exception) -> CorruptIndexError:
    return CorruptIndexError(
        f"{path} is damaged ({error}); restore it from a backup (`newsbot index backup` makes one), or move it "
        "away and add the articles again"
    )


@contextmanager
def read_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN ... COMMIT: every read inside sees one committed generation (a nested call joins the outer one)."""
    if connection.in_transaction:
        yield
        return
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK when the block raises): writers of the file take turns."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class _Schema:
    """The runner's view of an index file: the version is the `meta` row `schema_version` (an index the first
    newsbot wrote has articles and no such row: version 1)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def current(self) -> int:
        return self.version(self.connection)

    @contextmanager
    def step(self) -> Iterator[sqlite3.Connection]:
        with write_transaction(self.connection):
            yield self.connection

    def version(self, cursor: sqlite3.Connection) -> int:
        tables = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return int(get_meta(cursor, "schema_version") or 1) if "articles" in tables else 0

    def record(self, cursor: sqlite3.Connection, version: int) -> None:
        set_meta(cursor, "schema_version", version)


def _recompute_identities(cursor: sqlite3.Connection) -> None:
    """Query strings count in an article's identity (index/articles.py): identities are recomputed from the stored
    URLs; ids stay, so removing or adding an article again finds the one indexed before."""
    rows = cursor.execute("SELECT id, url FROM articles WHERE url IS NOT NULL").fetchall()
    cursor.executemany("UPDATE articles SET identity = ? WHERE id = ?", [(url_identity(url), id_) for id_, url in rows])


def _segments(cursor: sqlite3.Connection) -> None:
    """Step 5: the index's passages written as segments, with the statistics and columns that go with them."""
    from index.sqlite.upgrade import to_segments

    to_segments(cursor)


MIGRATIONS = read_migrations(
    resources.files(__package__).joinpath("migrations"), {3: _recompute_identities, 5: _segments}
)
SCHEMA_VERSION = latest(MIGRATIONS)


def get_meta(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row["value"] if row else None


def set_meta(connection: sqlite3.Connection, key: str, value: object) -> None:
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))


def generation(connection: sqlite3.Connection) -> int:
    return int(get_meta(connection, "generation") or 0)


def article_from_row(row: sqlite3.Row) -> StoredArticle:
    return StoredArticle(
        id=row["id"],
        title=row["title"],
        source=row["source"],
        url=row["url"],
        published=row["published"],
        added_at=row["added_at"],
        content_hash=row["content_hash"],
        extra=json.loads(row["extra"]),
    )


def passages_by_id(connection: sqlite3.Connection, ids: list[int]) -> dict[int, Passage]:
    found: dict[int, Passage] = {}
    for chunk in chunked(ids, 500):
        rows = connection.execute(
            f"""SELECT p.id AS passage_id, p.ordinal, p.start, p."end",
                       substr(a.text, p.start + 1, p."end" - p.start) AS passage_text,
                       {", ".join("a." + column for column in ARTICLE_COLUMNS.split(", "))}
                FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.id IN ({marks(chunk)})""",
            chunk,
        )
        found.update((row["passage_id"], passage_from_row(row)) for row in rows)
    return found


def passage_from_row(row: sqlite3.Row) -> Passage:
    return Passage(
        id=row["passage_id"],
        article=article_from_row(row),
        ordinal=row["ordinal"],
        start=row["start"],
        end=row["end"],
        text=row["passage_text"],
    )


def marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def chunked(values: list[T], size: int) -> list[list[T]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
