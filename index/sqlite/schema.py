"""Opening an index's SQLite file, up to date: its schema is migrations/NNN_*.sql plus registered functions
(identities recomputed, step 3; segments written, step 5), applied by the common runner. Opened in WAL mode with
synchronous=FULL, so that a commit survives a crash and readers never wait for a writer.

The files an index kept beside its database before segments (a `keywords-<generation>/` folder of bm25s files
and a `vectors-<generation>.faiss` file, and their temporary names) are deleted once the upgrade to segments is
committed, since nothing reads them any more; one a crash left behind is deleted the next time the index is
opened up to date (by a writer, or by a store opening it)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path

from common.crash import crash_point
from common.errors import StoreError
from common.migrations import latest, read_migrations
from common.migrations import migrate as run_migrations
from index.articles import url_identity
from index.sqlite.database import DATABASE_NAME, IndexConnection, corrupt, get_meta, set_meta, write_transaction

SQLITE_CANTOPEN = 14
SEGMENTED = 5  # the step that wrote the passages as segments
# What the index before segments wrote beside its database (commit d62eb57: index/sqlite/keywords.py, vectors.py).
BEFORE_SEGMENTS = re.compile(r"keywords-\d{8,}|\.keywords-.+|vectors-\d{8,}\.(faiss|tmp)")


def connect(directory: Path, create: bool = False, migrate: bool = False) -> sqlite3.Connection:
    """A connection to the index in `directory`; with `create`, the index is made first; with `migrate` (or
    `create`), an index written by an older newsbot is brought up to date."""
    path = directory / DATABASE_NAME
    if not create and not path.exists():
        raise StoreError(f"no index at {directory}: add articles first with `newsbot index add PATH|URL`")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(
            f"can't create the index folder {directory} ({error.strerror}); set INDEX_DIR to a folder newsbot may write"
        ) from None
    new = not path.exists()
    try:
        connection = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False, factory=IndexConnection
        )
        connection.path = path
        connection.row_factory = sqlite3.Row
        if new:
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")  # before the first table: pruning gives space back
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        if (create or migrate) and run_migrations(_Schema(connection), MIGRATIONS) >= SEGMENTED:
            remove_files_before_segments(directory)
    except sqlite3.DatabaseError as error:
        if (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_CANTOPEN:
            raise StoreError(
                f"can't open {path} ({error}); check that it is a file newsbot may read and write"
            ) from None
        raise corrupt(path, error) from None
    return connection


def remove_files_before_segments(directory: Path) -> None:
    """Called once the segments are committed (synchronous=FULL: durable); a crash halfway leaves files that
    nothing reads, and that the next call deletes. A folder newsbot may not write keeps them."""
    for path in sorted(directory.iterdir()):
        if BEFORE_SEGMENTS.fullmatch(path.name):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with suppress(OSError):
                    path.unlink(missing_ok=True)
            crash_point("removing-files-before-segments")


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
    """Step 5: the passages written as segments, with the statistics and columns that go with them (FAISS and the
    segment code are imported only when an index needs it)."""
    from index.sqlite.upgrade import to_segments

    to_segments(cursor)


MIGRATIONS = read_migrations(
    resources.files(__package__).joinpath("migrations"), {3: _recompute_identities, SEGMENTED: _segments}
)
SCHEMA_VERSION = latest(MIGRATIONS)
