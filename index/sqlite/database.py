"""The SQLite file of an index: articles, passages and their vectors, the source of truth. Opened in WAL mode
with synchronous=FULL, so that a commit survives a crash and readers never wait for a writer."""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

from index.types import Passage, StoredArticle
from newsbot.errors import CorruptIndexError, StoreError

DATABASE_NAME = "index.sqlite"
ARTICLE_COLUMNS = "id, title, source, url, published, added_at, content_hash, extra"
SCHEMA_VERSION = 2
# Each step brings an index written by an older newsbot up to the next version, in one transaction.
MIGRATIONS = {
    2: [
        "ALTER TABLE articles ADD COLUMN added_seq INTEGER NOT NULL DEFAULT 0",
        "UPDATE articles SET added_seq = rowid",
    ],
}


def connect(directory: Path, create: bool = False) -> sqlite3.Connection:
    """A connection to the index in `directory`; with `create`, the index is made (or migrated) first."""
    path = directory / DATABASE_NAME
    if not create and not path.exists():
        raise StoreError(f"no index at {directory}: add articles first with `newsbot index add PATH|URL`")
    directory.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        if create:
            _create_or_migrate(connection)
    except sqlite3.DatabaseError as error:
        raise corrupt(path, error) from error
    return connection


def corrupt(path: Path, error: Exception) -> CorruptIndexError:
    return CorruptIndexError(
        f"{path} is damaged ({error}); restore it from a backup (`newsbot index backup` makes one), or move it "
        "away and add the articles again"
    )


def _create_or_migrate(connection: sqlite3.Connection) -> None:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "articles" not in tables:
        connection.executescript(resources.files("index.sqlite").joinpath("schema.sql").read_text())
        set_meta(connection, "schema_version", SCHEMA_VERSION)
        return
    version = int(get_meta(connection, "schema_version") or 1)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        connection.execute("BEGIN IMMEDIATE")
        for statement in MIGRATIONS[target]:
            connection.execute(statement)
        set_meta(connection, "schema_version", target)
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


def marks(values: list) -> str:
    return ",".join("?" * len(values))


def chunked(values: list, size: int) -> list[list]:
    return [values[start : start + size] for start in range(0, len(values), size)]
