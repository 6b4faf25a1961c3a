"""`newsbot index migrate`: the embedded index and bot state copied into PostgreSQL, vectors and ids included,
with DATABASE_URL from the environment only and its password in no message."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from index.backends import open_store
from index.types import Filters
from state.backends import open_database
from state.conversations import Conversations
from state.schedules import Schedules
from tests.helpers import wire
from tests.postgres_server import PASSWORD

QUESTION = "who denied the deployment?"


def migrate(settings, database_url: str | None, *options: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "INDEX_DIR": str(settings.index_dir),
        "BOT_STATE_PATH": str(settings.bot_state_path),
        "DATABASE_URL": database_url or "",
    }
    command = [sys.executable, "-m", "newsbot.cli", "index", "migrate", *options]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_migrate_copies_the_index_and_the_state_and_a_second_run_changes_nothing(sample_index, copy_of, database_url):
    settings = copy_of(sample_index)
    wiring = wire(settings)
    answer = wiring.answers.answer(QUESTION)
    token = wiring.conversations.remember(-100123, 7, answer)
    wiring.conversations.shown(token, -100123, 555)
    schedule = wiring.schedules.add(-100123, "Desk", "daily", "08:00", "", 7)
    wiring.schedules.mark(schedule.id, wiring.store.mark())

    first = migrate(settings, database_url, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["index"] == {"articles": 1, "passages": sample_index_passages(settings), "skipped": False}
    assert report["state"]["answers"] == 1 and report["state"]["schedules"] == 1
    assert PASSWORD not in first.stdout + first.stderr

    postgres = open_store(database_url, wiring.embedder.model_id)
    sqlite = wiring.store
    vector = wiring.embedder.embed([QUESTION])[0]
    copied_hits, kept_hits = postgres.dense_search(vector, 5), sqlite.dense_search(vector, 5)
    assert [h.article_id for h in copied_hits] == [h.article_id for h in kept_hits]
    # SQLite's FAISS copy holds float16 vectors: a cosine is within 1e-3
    assert [h.score for h in copied_hits] == pytest.approx([h.score for h in kept_hits], abs=1e-3)
    assert postgres.articles()[0] == sqlite.articles()[0]  # when it was added included
    copied, kept = sentence_vectors_by_place(postgres), sentence_vectors_by_place(sqlite)
    assert len(kept) == sample_index_passages(settings) and copied.keys() == kept.keys()
    assert all(np.array_equal(copied[place], kept[place]) for place in kept)  # the same 4-bit codes
    assert postgres.mark() == sqlite.mark() and postgres.articles(filters=Filters(added_after=sqlite.mark())) == []
    postgres.close()

    again = migrate(settings, database_url)
    assert again.returncode == 0, again.stderr
    assert "copied before" in again.stdout and PASSWORD not in again.stdout

    state = open_database(database_url)
    assert Conversations(state).button_answer(token, -100123, 555)[1] == answer.text
    assert Schedules(state).get(schedule.id).last_mark == sqlite.mark()
    assert Schedules(state).add(-100123, "Desk", "monday", "09:00", "", 7).id == schedule.id + 1  # ids go on
    state.close()
    diverged = migrate(settings, database_url)
    assert diverged.returncode == 1 and "bot state" in diverged.stderr and "already holds other rows" in diverged.stderr


def test_migrate_refuses_a_database_holding_another_index(sample_index, copy_of, database_url, tmp_path):
    settings = copy_of(sample_index)
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"title": "Ferry strike ends", "text": "The ferry strike ended on Friday."}) + "\n")
    wire(settings.model_copy(update={"database_url": database_url})).indexer.add(
        wire(settings).read_sources([str(other)])
    )
    refused = migrate(settings, database_url)
    assert refused.returncode != 0
    assert "already holds 1 articles" in refused.stderr and "empty database" in refused.stderr
    assert PASSWORD not in refused.stderr + refused.stdout


def test_migrate_needs_database_url_from_the_environment(sample_index, copy_of):
    refused = migrate(copy_of(sample_index), None)
    assert refused.returncode != 0 and "DATABASE_URL is not set" in refused.stderr


def sample_index_passages(settings) -> int:
    store = open_store(str(settings.index_dir))
    try:
        return store.stats()["passages"]
    finally:
        store.close()


def sentence_vectors_by_place(store) -> dict[tuple[str, int], np.ndarray]:
    """(article id, ordinal) -> the passage's sentence vectors (passage ids differ between stores)."""
    article_ids = [article.id for article in store.articles()]
    passages = [p for leads in store.lead_passages(article_ids, 10_000).values() for p in leads]
    stored = store.sentence_vectors([p.id for p in passages])
    return {(p.article.id, p.ordinal): stored[p.id] for p in passages if p.id in stored}
