"""The SQLite store of articles, passages and their vectors: the index's source of truth."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from index.errors import NewsbotError

DATABASE_NAME = "index.sqlite"


@dataclass(frozen=True)
class StoredArticle:
    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    added_at: str
    content_hash: str
    extra: dict

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredArticle:
        return cls(
            id=row["id"],
            title=row["title"],
            source=row["source"],
            url=row["url"],
            published=row["published"],
            added_at=row["added_at"],
            content_hash=row["content_hash"],
            extra=json.loads(row["extra"]),
        )


@dataclass(frozen=True)
class Passage:
    id: int
    article: StoredArticle
    ordinal: int
    start: int
    end: int
    text: str


ARTICLE_COLUMNS = "id, title, source, url, published, added_at, content_hash, extra"


def connect(directory: Path, create: bool = False) -> sqlite3.Connection:
    path = directory / DATABASE_NAME
    if not create and not path.exists():
        raise NewsbotError(f"no index at {directory}: add articles first with `newsbot index add PATH|URL`")
    directory.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    if create:
        connection.executescript(resources.files("index").joinpath("schema.sql").read_text())
    return connection


def get_meta(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row["value"] if row else None


def set_meta(connection: sqlite3.Connection, key: str, value: object) -> None:
    connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))


def generation(connection: sqlite3.Connection) -> int:
    return int(get_meta(connection, "generation") or 0)


def passages_by_id(connection: sqlite3.Connection, ids: list[int]) -> dict[int, Passage]:
    if not ids:
        return {}
    placeholders = ",".join("?" * len(ids))
    rows = connection.execute(
        f"""SELECT p.id AS passage_id, p.ordinal, p.start, p."end",
                   substr(a.text, p.start + 1, p."end" - p.start) AS passage_text,
                   {", ".join("a." + column for column in ARTICLE_COLUMNS.split(", "))}
            FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.id IN ({placeholders})""",
        ids,
    ).fetchall()
    return {
        row["passage_id"]: Passage(
            id=row["passage_id"],
            article=StoredArticle.from_row(row),
            ordinal=row["ordinal"],
            start=row["start"],
            end=row["end"],
            text=row["passage_text"],
        )
        for row in rows
    }
