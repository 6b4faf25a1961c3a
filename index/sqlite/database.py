"""The SQLite file of an index: articles, passages and their vectors, the source of truth; what reading and
writing it takes (transactions, meta, rows as the index's types). `index.sqlite.schema` opens it, up to date."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from common.errors import CorruptIndexError
from index.types import Passage, StoredArticle

DATABASE_NAME = "index.sqlite"
SEGMENTS_FOLDER, DENSE_FOLDER = "segments", "dense"  # beside it: the segments' folders, their dense files
ARTICLE_COLUMNS = "id, title, source, url, published, added_at, content_hash, extra"
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26
T = TypeVar("T")
Connection = sqlite3.Connection  # what `schema.connect` returns, for modules that must not import sqlite3 themselves


Params = Any  # what sqlite3 takes: a sequence, or a mapping of names


class IndexCursor(sqlite3.Cursor):
    """Any statement or fetch that finds the file damaged raises CorruptIndexError naming it."""

    @property
    def path(self) -> Path:
        connection = self.connection
        assert isinstance(connection, IndexConnection)  # cursors are made by IndexConnection.cursor
        return connection.path

    def execute(self, sql: str, parameters: Params = (), /) -> IndexCursor:
        with damage_reported(self.path):
            return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Params], /) -> IndexCursor:
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


class IndexConnection(sqlite3.Connection):
    path: Path

    def cursor(self, factory: None = None) -> IndexCursor:  # type: ignore[override]  # always our damage-reporting cursor
        return super().cursor(IndexCursor)

    def execute(self, sql: str, parameters: Params = (), /) -> IndexCursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Params], /) -> IndexCursor:
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


def database_path(connection: sqlite3.Connection) -> str:
    """The file `connection` (made by `schema.connect`) is open on, for messages."""
    return str(getattr(connection, "path", DATABASE_NAME))


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


def decode_vector(blob: bytes, dimension: int) -> np.ndarray:
    """A stored passage vector as float32: float16 (what this newsbot writes), or float32 (an earlier one's)."""
    dtype = np.float16 if len(blob) == 2 * dimension else np.float32
    return np.frombuffer(blob, dtype=dtype).astype(np.float32)


def encode_vector(vector: np.ndarray) -> bytes:
    """A passage vector as stored: float16, half the size of float32 and what dense search scores anyway."""
    return np.asarray(vector, dtype=np.float16).tobytes()


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
