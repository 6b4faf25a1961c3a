"""One contract for the bot state, on SQLite (a file) and on PostgreSQL (a database of the pgserver test
server): conversations, answers and feedback, schedules, feeds and their entries, and the migrations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from answers.types import Answer, Citation
from newsbot.errors import NewsbotError
from state.conversations import Conversations
from state.database import open_database
from state.feeds import Entry, FeedSubscriptions
from state.postgres import translated
from state.schedules import Schedules

NOW = datetime(2024, 10, 22, 9, 0, tzinfo=UTC)
CHAT = -1001234567890  # group and channel ids need 64 bits


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "bot.sqlite")
    return request.getfixturevalue("database_url")


@pytest.fixture
def database(location):
    database = open_database(location)
    yield database
    getattr(database, "close", lambda: None)()


def answer(question: str, text: str) -> Answer:
    citation = Citation(
        1, "id1", "Ferry strike ends", "Harbour News", "https://x.example/1", "2024-10-21", "The strike ended."
    )
    return Answer(question=question, text=text, citations=[citation], abstained=False, answerer="extractive")


def test_conversations_keep_the_latest_turns_answers_and_feedback(database):
    conversations = Conversations(database, history_turns=2)
    tokens = [conversations.remember(CHAT, 7, answer(f"question {n}?", f"answer {n}")) for n in range(3)]
    conversations.remember(CHAT, 8, answer("someone else?", "other"))
    assert [(t.question, t.answer) for t in conversations.history(CHAT, 7)] == [
        ("question 1?", "answer 1"),
        ("question 2?", "answer 2"),
    ]
    assert len(set(tokens)) == 3
    for message_id, token in enumerate(tokens, start=100):
        conversations.shown(token, CHAT, message_id)
    first_id, _, _ = conversations.button_answer(tokens[0], CHAT, 100)
    _, text, citations = conversations.button_answer(tokens[1], CHAT, 101)
    assert text == "answer 1" and citations[0].title == "Ferry strike ends"
    assert conversations.button_answer(tokens[1], CHAT, 100) is None  # another message of the chat
    assert conversations.button_answer(tokens[1], CHAT + 1, 101) is None  # another chat
    assert conversations.button_answer("forged", CHAT, 101) is None
    conversations.record_feedback(first_id, 7, "up")
    conversations.record_feedback(first_id, 7, "down")  # a second vote replaces the first
    (feedback,) = conversations.feedback()
    assert (feedback["vote"], feedback["question"], feedback["citations"][0]["source"]) == (
        "down",
        "question 0?",
        "Harbour News",
    )


def test_schedules_are_added_listed_marked_and_removed(database):
    schedules = Schedules(database)
    first = schedules.add(CHAT, "Newsroom", "daily", "08:00", "", 42)
    second = schedules.add(CHAT, "Newsroom", "monday", "17:30", "ferries", 42)
    assert first.chat_id == CHAT and first.last_mark is None and second.id > first.id
    schedules.mark(first.id, 12)
    assert schedules.get(first.id).last_mark == 12 and schedules.get(999) is None
    assert [s.id for s in schedules.all()] == [first.id, second.id]
    assert schedules.remove(second.id).topic == "ferries"
    with pytest.raises(NewsbotError, match="no schedule"):
        schedules.remove(second.id)


def test_feeds_and_their_entries(database):
    feeds = FeedSubscriptions(database)
    feed = feeds.add("https://news.example/feed.xml", "News", NOW)
    with pytest.raises(NewsbotError, match="already subscribed"):
        feeds.add("https://news.example/feed.xml", "News", NOW)
    feeds.failed(feed, "HTTP 500", NOW + timedelta(minutes=30), NOW)
    assert feeds.due(NOW) == [] and feeds.feeds()[0].failures == 1
    assert [f.id for f in feeds.due(NOW + timedelta(hours=1))] == [feed.id]
    feeds.succeeded(feed, "News, renamed")
    (current,) = feeds.feeds()
    assert (current.failures, current.retry_at, current.title) == (0, None, "News, renamed")

    taken, failing, fresh = (Entry(None, f"https://news.example/{n}", f"story {n}") for n in range(3))
    assert feeds.record(feed, taken, None, NOW) == 1
    assert feeds.record(feed, failing, "HTTP 404", NOW) == 1
    assert feeds.unseen([taken, failing, fresh]) == [failing, fresh]  # a failed entry is tried again
    feeds.record(feed, failing, "HTTP 404", NOW)
    assert feeds.record(feed, failing, "HTTP 404", NOW) == 3
    assert feeds.unseen([taken, failing, fresh]) == [fresh]  # and given up after three attempts
    assert feeds.remove(feed.id).url == "https://news.example/feed.xml" and feeds.feeds() == []


def test_a_query_with_a_percent_sign_and_a_quoted_question_mark(database):
    with database.transaction() as cursor:
        cursor.execute(
            "INSERT INTO entries (key, link, feed_id, status, attempts, at) VALUES (?, ?, 1, 'indexed', 1, ?)",
            ("k?", "https://x.example/100%", "now"),
        )
        row = cursor.execute("SELECT key FROM entries WHERE link LIKE '%100%' AND key != 'what?'").fetchone()
    assert row == {"key": "k?"}


def test_a_transaction_that_fails_leaves_nothing(database):
    with pytest.raises(RuntimeError), database.transaction() as cursor:
        cursor.execute("INSERT INTO feeds (url, title, added_at) VALUES (?, ?, ?)", ("https://a.example", "A", "now"))
        raise RuntimeError("midway")
    assert FeedSubscriptions(database).feeds() == []


def test_every_migration_exists_for_both_dialects():
    folders = resources.files("state").joinpath("migrations")
    numbers = {
        dialect: sorted(
            int(item.name.split("_")[0]) for item in folders.joinpath(dialect).iterdir() if item.name.endswith(".sql")
        )
        for dialect in ("sqlite", "postgresql")
    }
    assert numbers["sqlite"] == numbers["postgresql"], "write each state migration for PostgreSQL too"


def test_workers_starting_together_migrate_once(database_url):
    errors, databases = [], []

    def start():
        try:
            databases.append(open_database(database_url))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with databases[0].transaction() as cursor:
        versions = [
            row["version"] for row in cursor.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        ]
    assert versions == sorted(set(versions)) and versions[0] == 1
    for database in databases:
        database.close()


def test_placeholders_are_translated_outside_quotes():
    assert translated("SELECT ? WHERE a LIKE 'x?%' AND b = ?") == "SELECT %s WHERE a LIKE 'x?%%' AND b = %s"
    assert translated("SELECT 5 % 2") == "SELECT 5 %% 2"
