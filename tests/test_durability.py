"""Killing `newsbot index add` with SIGKILL at any moment leaves an index that opens and is consistent: the
SQLite + FAISS folder, and the PostgreSQL database of DATABASE_URL."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from index.postgres import PostgresStore
from index.sqlite import SQLiteStore
from index.terms import words
from tests.conftest import BACKENDS

WORDS = (
    "council budget river flood minister election court ruling market shares storm coast army border talks "
    "treaty vaccine hospital strike union factory wages police protest school teachers farmers drought harvest"
).split()


def synthetic_corpus(path: Path, articles: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    with path.open("w") as handle:
        for number in range(articles):
            sentences = [" ".join(rng.choices(WORDS, k=12)).capitalize() + "." for _ in range(12)]
            record = {"title": f"Story {number}", "url": f"https://news.example/{number}", "text": " ".join(sentences)}
            handle.write(json.dumps(record) + "\n")
    return path


def start_add(corpus: Path, index_dir: Path, database_url: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "COMMIT_EVERY_PASSAGES": "24", "DATABASE_URL": database_url or ""}
    command = [
        sys.executable,
        "-m",
        "newsbot.cli",
        "index",
        "add",
        str(corpus),
        "--index-dir",
        str(index_dir),
        "--json",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def committed_generation(index_dir: Path) -> int:
    try:
        with sqlite3.connect(index_dir / "index.sqlite", timeout=30) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            return int(row[0]) if row else 0
    except sqlite3.OperationalError:
        return 0


def committed_batches(database_url: str) -> int:
    """How many transactions wrote the articles there are (each row holds the id of the one that wrote it)."""
    with psycopg.connect(database_url) as db:
        if db.execute("SELECT to_regclass('articles')").fetchone()[0] is None:
            return 0
        return db.execute("SELECT count(DISTINCT xmin::text) FROM articles").fetchone()[0]


def kill_after_commits(process: subprocess.Popen, progress: Callable[[], int], commits: int) -> None:
    deadline = time.monotonic() + 120
    while progress() < commits:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the add made no progress"
        time.sleep(0.02)
    time.sleep(random.uniform(0, 0.3))
    process.send_signal(signal.SIGKILL)
    process.wait()


def assert_consistent(index_dir: Path) -> int:
    reader = SQLiteStore(index_dir)
    db = reader.db
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    orphans = db.execute(
        "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM passages p WHERE p.article_id = a.id)"
    )
    assert orphans.fetchone()[0] == 0, "an article without passages: a half-written add"
    bare = db.execute(
        "SELECT count(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM sentence_vectors s WHERE s.passage_id = p.id)"
    )
    assert bare.fetchone()[0] == 0, "a passage without its sentence vectors"
    stats = reader.stats()
    snapshot = reader.snapshot()
    assert snapshot.dense_vectors() == stats["passages"]
    reader.close()
    return stats["articles"]


def assert_consistent_in_postgres(database_url: str) -> int:
    """Every article whole (its passages, postings, sentence vectors and counts), and the vocabulary exactly its
    passages' words."""
    reader = PostgresStore(database_url)
    with psycopg.connect(database_url) as db:
        broken = db.execute(
            "SELECT count(*) FROM articles a WHERE passage_count != (SELECT count(*) FROM passages p WHERE p.article_id = a.id)"
            " OR passage_count = 0 OR term_count != (SELECT coalesce(sum(term_count), 0) FROM passages p WHERE p.article_id = a.id)"
        ).fetchone()[0]
        assert broken == 0, "an article without all its passages: a half-written add"
        unindexed = db.execute(
            "SELECT count(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM postings o WHERE o.passage_id = p.id)"
        ).fetchone()[0]
        assert unindexed == 0, "a passage without its keyword postings"
        bare = db.execute(
            "SELECT count(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM sentence_vectors s WHERE s.passage_id = p.id)"
        ).fetchone()[0]
        assert bare == 0, "a passage without its sentence vectors"
    counts: Counter[str] = Counter()
    for passage in reader.passages(range(1, 100_000)).values():
        counts.update(set(words(f"{passage.article.title}\n{passage.text}")))
    assert dict(reader.vocabulary()) == dict(counts)
    articles = reader.stats()["articles"]
    reader.close()
    return articles


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """(DATABASE_URL or None, committed articles so far, check the index and count its articles)"""
    if request.param == "sqlite":
        index_dir = tmp_path / "index"
        return None, lambda: committed_generation(index_dir), lambda: assert_consistent(index_dir)
    url = request.getfixturevalue("database_url")
    return url, lambda: committed_batches(url), lambda: assert_consistent_in_postgres(url)


@pytest.mark.parametrize("commits", [2, 6])
def test_sigkill_during_add_leaves_a_consistent_index_and_rerun_completes(tmp_path, commits, backend):
    database_url, progress, check = backend
    corpus = synthetic_corpus(tmp_path / "corpus.jsonl", articles=120)
    index_dir = tmp_path / "index"
    kill_after_commits(start_add(corpus, index_dir, database_url), progress, commits)
    partial = check()
    assert 0 < partial < 120

    finished = start_add(corpus, index_dir, database_url)
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err.decode()
    report = json.loads(out)
    assert (report["added"], report["unchanged"], report["failed"]) == (120 - partial, partial, [])
    assert check() == 120
