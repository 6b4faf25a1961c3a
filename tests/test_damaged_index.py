"""A damaged index: every command says in one line which file is damaged and what to do (never a traceback);
`newsbot index check` finds the damage, `newsbot index backup` copies an index safely while it is in use, and
a damaged derived file (a segment's dense vectors, here) never stops adding, removing, rebuilding or searching:
searches make it from the database meanwhile, and the next writer writes it again."""

from __future__ import annotations

import json
import sqlite3
from functools import partial

import pytest

from index.sqlite import SQLiteStore
from index.sqlite.dense import dense_folder
from tests.helpers import index_items, wire

BUDGET = "The city council approved the new budget on Tuesday. Critics said it was too small to repair the bridges."
FLOOD = "Heavy rain flooded the river valley overnight. Hundreds of families were moved to shelters by morning."
PAGE = 4096


@pytest.fixture
def cli(settings, cli):
    """`newsbot ...` on the test's index and state."""
    return partial(cli, settings)


def write_jsonl(path, *records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.fixture
def settings(settings):
    """Segments of 16 passages: the 61 passages indexed are written as a segment with its dense file."""
    return settings.model_copy(update={"segment_passages": 16})


@pytest.fixture
def indexed(settings, tmp_path):
    records = [
        {"title": f"Budget {n}", "text": f"{BUDGET} Item {n} of the plan.", "url": f"https://x.example/{n}"}
        for n in range(60)
    ]
    index_items(settings, [write_jsonl(tmp_path / "a.jsonl", *records, {"title": "Flood", "text": FLOOD})])
    return settings


def damage(settings, keep_pages: int) -> str:
    """Overwrites the index file after its first `keep_pages` pages with junk (all of it with 0)."""
    path = settings.index_dir / "index.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[keep_pages * PAGE :] = b"GARBAGE!" * ((len(data) - keep_pages * PAGE) // 8 + 1)
    path.write_bytes(bytes(data[: len(path.read_bytes())]))
    return str(path)


COMMANDS = [
    ("index", "list"),
    ("index", "stats"),
    ("index", "search", "budget"),
    ("index", "remove", "https://x.example/1"),
    ("index", "rebuild"),
    ("index", "check"),
    ("ask", "who approved the budget?"),
    ("brief",),
]


@pytest.mark.parametrize("keep_pages", [0, 1], ids=["not-a-database", "damaged-pages"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_names_the_damaged_file_in_one_line(indexed, cli, command, keep_pages, tmp_path):
    path = damage(indexed, keep_pages)
    code, out, err = cli(*command)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {path} is damaged (") and "restore it from a backup" in err


@pytest.mark.parametrize("keep_pages", [0, 1], ids=["not-a-database", "damaged-pages"])
def test_adding_to_and_backing_up_a_damaged_index_say_so_in_one_line(indexed, cli, keep_pages, tmp_path):
    path = damage(indexed, keep_pages)
    new = write_jsonl(tmp_path / "new.jsonl", {"title": "Flood 2", "text": FLOOD + " Again."})
    for command in (("index", "add", new), ("index", "backup", str(tmp_path / "copy"))):
        code, out, err = cli(*command)
        assert code == 1 and err.startswith(f"error: {path} is damaged (") and err.count("\n") == 1, (command, err)


def test_check_finds_nothing_wrong_in_a_sound_index(indexed, cli):
    code, out, err = cli("index", "check")
    assert (code, err) == (0, "") and out.endswith("no problems found (61 articles, 61 passages)\n")


def test_check_reports_each_problem_in_one_line(indexed, cli):
    db = sqlite3.connect(indexed.index_dir / "index.sqlite", isolation_level=None)
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("INSERT INTO passages (article_id, ordinal, start, \"end\", vector) VALUES ('gone', 0, 0, 5, x'00')")
    db.close()
    (dense_file,) = dense_folder(indexed.index_dir).glob("seg-*.faiss")
    dense_file.write_bytes(b"GARB")
    code, out, err = cli("index", "check")
    lines = err.splitlines()
    assert code == 1 and out == "" and len(lines) == 4, lines
    assert "row 62 of passages refers to a missing row of articles" in lines[0]
    assert "1 passage vectors are not of dimension 384" in lines[1]
    assert f"{dense_file} is damaged (its size or checksum is not the one written)" in lines[2]
    assert "the keyword index counts 61 passages and its segments hold 62, the database 62" in lines[3]
    assert all(line.endswith("`newsbot index optimize` makes it again from the database") for line in lines[2:])


def test_a_backup_taken_while_a_writer_writes_holds_what_was_committed_and_opens(indexed, cli, tmp_path, embedder):
    reader = wire(indexed).store  # the bot, reading
    reader.snapshot()
    writer = sqlite3.connect(indexed.index_dir / "index.sqlite", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a writer in the middle of a batch
    writer.execute("DELETE FROM articles WHERE title = 'Flood'")
    code, out, err = cli("index", "backup", str(tmp_path / "copy"))
    writer.execute("COMMIT")
    writer.close()
    assert (code, err) == (0, "") and out.startswith(f"backed up the index to {tmp_path / 'copy' / 'index.sqlite'}")
    copy = SQLiteStore(tmp_path / "copy", embedder.model_id)
    assert copy.stats()["articles"] == 61 and copy.check() == []
    (hit,) = copy.dense_search(embedder.embed(["river flooded overnight"])[0], 1)
    assert copy.passages([hit.passage_id])[hit.passage_id].article.title == "Flood"
    assert reader.stats()["articles"] == 60


def test_a_backup_never_overwrites(indexed, cli, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    code, _, err = cli("index", "backup", str(tmp_path / "taken"))
    assert code == 1 and "already exists and is not an empty folder" in err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


@pytest.fixture
def garbled_vectors(indexed):
    (path,) = dense_folder(indexed.index_dir).glob("seg-*.faiss")
    path.write_bytes(b"GARB" * 64)
    return indexed


def test_a_damaged_dense_file_does_not_stop_adding(garbled_vectors, tmp_path, embedder):
    report = index_items(
        garbled_vectors, [write_jsonl(tmp_path / "n.jsonl", {"title": "Storm", "text": FLOOD + " A storm followed."})]
    )
    assert report.added == 1 and not report.failed
    store = wire(garbled_vectors).store
    assert store.snapshot().dense_vectors() == store.stats()["passages"] == 62 and store.check() == []


def test_a_damaged_dense_file_does_not_stop_removing(garbled_vectors):
    wiring = wire(garbled_vectors)
    assert wiring.indexer.remove("https://x.example/3").title == "Budget 3"
    store = wire(garbled_vectors).store
    assert store.snapshot().dense_vectors() == store.stats()["passages"] == 60 and store.check() == []


def test_a_damaged_dense_file_does_not_stop_rebuilding(garbled_vectors):
    assert wire(garbled_vectors).indexer.rebuild() == 61
    assert wire(garbled_vectors).store.check() == []


def test_a_damaged_dense_file_does_not_stop_searching(garbled_vectors, cli):
    code, out, err = cli("index", "search", "river flooded overnight", "-k", "1")
    assert code == 0 and "Flood" in out.splitlines()[0]
    assert "Traceback" not in err
