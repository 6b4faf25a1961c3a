"""Issue 18, the index and the files it is given, through real `newsbot` processes: two concurrent adds on
PostgreSQL (3), a damaged FAISS file that is never rewritten (4), files that never end (5), paths and vectors
that end in a traceback (10), links whose scheme is upper-case or that start with a space (13)."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from index.sqlite.dense import dense_folder
from tests.hardening_support import (
    assert_no_traceback,
    assert_one_line,
    environment,
    newsbot,
    newsbot_command,
    write_jsonl,
)
from tests.http_server import article_html

WORDS = (
    "council budget river flood minister election court ruling market shares storm coast army border talks "
    "treaty vaccine hospital strike union factory wages police protest school teachers farmers drought harvest"
).split()


def story(number: int) -> dict:
    rng = random.Random(number)
    text = " ".join(" ".join(rng.choices(WORDS, k=10)).capitalize() + "." for _ in range(2))
    return {"title": f"Story {number}", "url": f"https://news.example/{number}", "text": f"Report {number}. {text}"}


BUDGET = "The city council approved the new budget on Tuesday. Critics said it was too small to repair the bridges."
FLOOD = "Heavy rain flooded the river valley overnight. Hundreds of families were moved to shelters by morning."


@pytest.fixture
def indexed(tmp_path) -> Path:
    """A small index made by `newsbot index add` in tmp_path/index."""
    records = [
        {"title": f"Budget {n}", "text": f"{BUDGET} Item {n}.", "url": f"https://x.example/{n}"} for n in range(5)
    ]
    write_jsonl(tmp_path / "a.jsonl", *records, {"title": "Flood", "text": FLOOD, "url": "https://x.example/flood"})
    result = newsbot("index", "add", "a.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "index"


# -- 3: two writers on PostgreSQL --------------------------------------------------------------------------------


def test_concurrent_adds_on_postgresql_report_each_article_added_once(tmp_path, database_url):
    """Issue 18, item 3: two `newsbot index add` processes on one PostgreSQL, 400 articles each with 200 shared:
    the "added" counts sum to the articles stored (600), each article reported added once."""
    first = write_jsonl(tmp_path / "first.jsonl", *(story(n) for n in range(0, 400)))
    second = write_jsonl(tmp_path / "second.jsonl", *(story(n) for n in range(200, 600)))
    env = environment(tmp_path, DATABASE_URL=database_url)
    processes = [
        subprocess.Popen(
            newsbot_command("index", "add", str(corpus), "--json"),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for corpus in (first, second)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    with psycopg.connect(database_url) as db:
        stored = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    added = [report["added"] for report in reports]
    assert (sum(added), stored) == (600, 600), f"added {added}, stored {stored}"


# -- 4: a damaged derived file is rewritten ------------------------------------------------------------------------


def test_a_damaged_faiss_file_is_rewritten_so_check_passes_again(indexed, tmp_path):
    """Issue 18, item 4: after a segment's dense (FAISS) file is damaged, a reader (`newsbot index search`) makes
    it in memory; the file itself must be rewritten (by the reader while the writer lock is free, or by
    `newsbot index check --repair`), so that `newsbot index check` passes again without waiting for a write."""
    assert newsbot("index", "optimize", cwd=tmp_path).returncode == 0  # the passages written as a segment
    (path,) = dense_folder(indexed).glob("seg-*.faiss")
    path.write_bytes(b"GARB" * 64)
    assert newsbot("index", "check", cwd=tmp_path).returncode == 1  # the damage is seen
    searched = newsbot("index", "search", "river flooded overnight", "-k", "1", cwd=tmp_path)
    assert searched.returncode == 0 and "Flood" in searched.stdout, searched.stderr
    checked = newsbot("index", "check", cwd=tmp_path)
    if checked.returncode != 0:  # not rewritten by the reader: then `check --repair` must offer it
        repaired = newsbot("index", "check", "--repair", cwd=tmp_path)
        assert_no_traceback(repaired.stdout + repaired.stderr)
        assert repaired.returncode in (0, 1), repaired.stderr  # 2 would be argparse: no such option
        checked = newsbot("index", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


# -- 5: files that never end ---------------------------------------------------------------------------------------


def wait_for_exit_unless_it_reads(process: subprocess.Popen, fifo: Path, timeout: float = 120) -> bool:
    """Waits for `process` to exit; returns False as soon as it has the named pipe open for reading (a writer
    can then open it without blocking), where it would block forever."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            assert time.monotonic() < deadline, "the add neither exited nor opened the pipe"
            time.sleep(0.05)
            continue
        os.close(writer)
        return False
    return True


def test_a_named_pipe_is_refused_without_reading_it(tmp_path):
    """Issue 18, item 5: `newsbot index add fifo.txt` (a named pipe) blocked forever. What is not a regular file
    is refused, naming it, and the other files given are added."""
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    write_jsonl(tmp_path / "a.jsonl", {"title": "Flood", "text": FLOOD, "url": "https://x.example/flood"})
    process = subprocess.Popen(
        newsbot_command("index", "add", "fifo.txt", "a.jsonl"),
        cwd=tmp_path,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exited = wait_for_exit_unless_it_reads(process, fifo)
    finally:
        if process.poll() is None:
            process.kill()
        out, err = process.communicate(timeout=60)
    assert exited, "`index add` opened the named pipe to read it (it blocks until someone writes)"
    assert_no_traceback(out + err)
    assert process.returncode == 1 and out.startswith("added 1"), out + err
    (refusal,) = [line for line in (out + err).splitlines() if "fifo.txt" in line]
    assert refusal.strip().startswith("failed")


def test_a_symlink_to_dev_zero_is_refused_within_max_file_bytes(tmp_path):
    """Issue 18, item 5: a `.txt` symlink to /dev/zero read until memory ran out. It is refused (not a regular
    file, or over MAX_FILE_BYTES counting the bytes actually read), naming it, and the other files are added.
    The process gets 3 GB of address space (an add needs under 1 GB; MALLOC_ARENA_MAX keeps threads' malloc
    arenas from reserving more on machines with many cores), so today's behaviour ends in MemoryError instead of
    exhausting the machine."""
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    write_jsonl(tmp_path / "a.jsonl", {"title": "Flood", "text": FLOOD, "url": "https://x.example/flood"})
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
    run = (
        "import runpy, sys; sys.argv = ['newsbot', *sys.argv[1:]]; runpy.run_module('newsbot.cli', run_name='__main__')"
    )
    result = subprocess.run(
        [newsbot_command()[0], "-c", limit + run, "index", "add", "zero.txt", "a.jsonl"],
        cwd=tmp_path,
        env=environment(tmp_path, MAX_FILE_BYTES="1000000", MALLOC_ARENA_MAX="2"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_no_traceback(result.stdout + result.stderr)
    assert result.returncode == 1 and result.stdout.startswith("added 1"), result.stdout + result.stderr
    (refusal,) = [line for line in (result.stdout + result.stderr).splitlines() if "zero.txt" in line]
    assert refusal.strip().startswith("failed")


# -- 10: one line, not a traceback -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/proc/x", "/sys/x", "under-a-file"])
def test_a_backup_to_a_place_that_cannot_hold_it_is_one_line(indexed, tmp_path, target):
    """Issue 18, item 10: `newsbot index backup /proc/x` (a path under /sys, or under a file) is one line naming
    the path, not FileNotFoundError / PermissionError / NotADirectoryError."""
    if target == "under-a-file":
        (tmp_path / "notes.txt").write_text("a file, not a folder")
        target = str(tmp_path / "notes.txt" / "backup")
    result = newsbot("index", "backup", target, cwd=tmp_path)
    assert result.returncode != 0
    assert_one_line(result.stderr, target)


def test_a_bot_state_path_that_cannot_be_created_is_one_line(tmp_path):
    """Issue 18, item 10: `BOT_STATE_PATH=/proc/nope/bot.sqlite newsbot feedback` is one line naming the
    setting or the path, not FileNotFoundError."""
    result = newsbot("feedback", cwd=tmp_path, BOT_STATE_PATH="/proc/nope/bot.sqlite")
    assert result.returncode != 0
    line = assert_one_line(result.stderr)
    assert "BOT_STATE_PATH" in line or "/proc/nope" in line, line


def test_a_passage_vector_damaged_in_sqlite_makes_search_say_so_in_one_line(indexed, tmp_path):
    """Issue 18, item 10: a passage vector damaged in index.sqlite (wrong size), read from SQLite by a search (the
    passages not yet in a segment are), then `newsbot index search`: one line (as `index check` reports it) or
    results, never a ValueError traceback."""
    with sqlite3.connect(indexed / "index.sqlite") as db:
        db.execute("UPDATE passages SET vector = x'0000803f' WHERE id = 1")
    checked = newsbot("index", "check", cwd=tmp_path)
    assert checked.returncode == 1 and "vector" in checked.stderr  # check sees it
    result = newsbot("index", "search", "river flooded overnight", cwd=tmp_path)
    assert_no_traceback(result.stdout + result.stderr)
    if result.returncode != 0:
        assert_one_line(result.stderr)


# -- 13: schemes are case-insensitive, arguments trimmed ---------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "upper-case",
        "leading-space",
        "trailing-space",  # already fetched on d62eb57
    ],
)
def test_a_link_with_an_upper_case_scheme_or_spaces_is_fetched(tmp_path, page_server, spelling):
    """Issue 18, item 13: `newsbot index add 'HTTP://host/x'` and `' http://host/x'` were read as file paths
    ("unsupported file type"); they are links: fetched and added. (A trailing space already worked.)"""
    url = page_server.add("/news/ferry", article_html("Ferry strike ends", [FLOOD, BUDGET]))
    given = {
        "upper-case": url.replace("http://", "HTTP://"),
        "leading-space": " " + url,
        "trailing-space": url + " ",
    }[spelling]
    result = newsbot("index", "add", given, cwd=tmp_path, ALLOW_PRIVATE_NETWORKS="127.0.0.0/8")
    assert_no_traceback(result.stdout + result.stderr)
    assert "/news/ferry" in page_server.requests
    assert result.returncode == 0 and result.stdout.startswith("added 1"), result.stdout + result.stderr
