"""Killing `newsbot index add` with SIGKILL at any moment leaves an index that opens and is consistent."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.sqlite import SQLiteStore

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


def start_add(corpus: Path, index_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "COMMIT_EVERY_PASSAGES": "24"}
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


def kill_after_commits(process: subprocess.Popen, index_dir: Path, commits: int) -> None:
    deadline = time.monotonic() + 120
    while committed_generation(index_dir) < commits:
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
    stats = reader.stats()
    snapshot = reader.snapshot()
    assert snapshot.faiss.ntotal == stats["passages"]
    reader.close()
    return stats["articles"]


@pytest.mark.parametrize("commits", [2, 6])
def test_sigkill_during_add_leaves_a_consistent_index_and_rerun_completes(tmp_path, commits):
    corpus = synthetic_corpus(tmp_path / "corpus.jsonl", articles=120)
    index_dir = tmp_path / "index"
    kill_after_commits(start_add(corpus, index_dir), index_dir, commits)
    partial = assert_consistent(index_dir)
    assert 0 < partial < 120

    finished = start_add(corpus, index_dir)
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err.decode()
    report = json.loads(out)
    assert (report["added"], report["unchanged"], report["failed"]) == (120 - partial, partial, [])
    assert assert_consistent(index_dir) == 120
