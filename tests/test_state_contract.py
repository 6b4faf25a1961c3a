"""One contract for the bot state, on SQLite (a file) and on PostgreSQL (a database of the pgserver test
server): conversations, answers and feedback, schedules, feeds and their entries, and the migrations; and the
claims that let several workers share it (a schedule's slot, a feed's poll, each entry: taken by one worker),
their heartbeats and inline mode's newest queries."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from answers.types import Answer, Citation
from common.errors import NewsbotError
from state.backends import open_database
from state.conversations import Conversations
from state.feeds import Entry, FeedSubscriptions
from state.inline_queries import InlineQueries
from state.postgres import translated
from state.schedules import Schedules
from state.workers import LIVE_SECONDS, Workers
from tests.conftest import BACKENDS

NOW = datetime(2024, 10, 22, 9, 0, tzinfo=UTC)
CHAT = -1001234567890  # group and channel ids need 64 bits


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "bot.sqlite")
    return request.getfixturevalue("database_url")


@pytest.fixture
def database(location):
    database = open_database(location)
    yield database
    database.close()


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
    assert feeds.claim_polls(NOW, REST) == [] and feeds.feeds()[0].failures == 1
    assert [f.id for f in feeds.claim_polls(NOW + timedelta(hours=1), REST)] == [feed.id]
    feeds.succeeded(feed, "News, renamed")
    (current,) = feeds.feeds()
    assert (current.failures, current.retry_at, current.title) == (0, None, "News, renamed")

    taken, failing, fresh = (Entry(None, f"https://news.example/{n}", f"story {n}") for n in range(3))
    assert feeds.claim(feed, [taken, failing], "w1", NOW, LEASE, 5) == [taken, failing]
    assert feeds.record(feed, taken, None, NOW) == 1
    assert feeds.record(feed, failing, "HTTP 404", NOW) == 1
    assert feeds.unseen([taken, failing, fresh], NOW) == [failing, fresh]  # a failed entry is tried again
    assert feeds.claim(feed, [taken, failing, fresh], "w1", NOW, LEASE, 1) == [failing]  # at most `limit`
    feeds.record(feed, failing, "HTTP 404", NOW)
    feeds.claim(feed, [failing], "w1", NOW, LEASE, 5)
    assert feeds.record(feed, failing, "HTTP 404", NOW) == 3
    assert feeds.unseen([taken, failing, fresh], NOW) == [fresh]  # and given up after three attempts
    assert feeds.remove(feed.id).url == "https://news.example/feed.xml" and feeds.feeds() == []


REST, LEASE = timedelta(minutes=13), timedelta(hours=1)


@pytest.fixture
def two_workers(location):
    """Two workers' views of one state: databases opened apart, as two processes do."""
    databases = open_database(location), open_database(location)
    yield databases
    for database in databases:
        database.close()


def test_a_feed_poll_and_each_entry_are_claimed_by_one_worker(two_workers):
    first, second = (FeedSubscriptions(database) for database in two_workers)
    feed = first.add("https://news.example/feed.xml", "News", NOW)
    assert [f.id for f in first.claim_polls(NOW, REST)] == [feed.id]
    assert second.claim_polls(NOW + timedelta(minutes=5), REST) == []  # polled lately by the first worker
    assert [f.id for f in second.claim_polls(NOW + timedelta(minutes=5), None)] == [feed.id]  # /feed poll: now
    assert [f.id for f in second.claim_polls(NOW + timedelta(minutes=20), REST)] == [feed.id]

    entries = [Entry(f"guid-{n}", f"https://news.example/{n}", f"story {n}") for n in range(4)]
    assert first.claim(feed, entries[:2], "w1", NOW, LEASE, 10) == entries[:2]
    assert second.claim(feed, entries, "w2", NOW, LEASE, 10) == entries[2:]  # the first worker's are left alone
    first.record(feed, entries[0], None, NOW)
    first.release([entries[1]], "w1", "index is busy")  # not tried: no attempt counted
    second.release([entries[1]], "w2", "not its claim")  # another worker's release does nothing
    assert second.claim(feed, entries, "w2", NOW, LEASE, 10) == [entries[1]]
    assert second.record(feed, entries[1], None, NOW) == 1
    # the second worker dies holding entries 2 and 3: they are claimed again once its claims have run out
    assert first.claim(feed, entries, "w1", NOW + timedelta(minutes=59), LEASE, 10) == []
    assert first.claim(feed, entries, "w1", NOW + timedelta(minutes=61), LEASE, 10) == entries[2:]
    assert first.record(feed, entries[2], "HTTP 500", NOW) == 2  # the dead worker's claim was an attempt


def test_racing_workers_claim_each_entry_once(two_workers):
    subscriptions = [FeedSubscriptions(database) for database in two_workers]
    feed = subscriptions[0].add("https://news.example/feed.xml", "News", NOW)
    entries = [Entry(None, f"https://news.example/{n}", f"story {n}") for n in range(30)]
    with ThreadPoolExecutor(4) as pool:
        claimed = list(
            pool.map(lambda n: subscriptions[n % 2].claim(feed, entries, f"w{n}", NOW, LEASE, len(entries)), range(4))
        )
    assert sorted(entry.link for batch in claimed for entry in batch) == sorted(entry.link for entry in entries)


def test_a_schedule_slot_is_claimed_once_and_taken_over_only_when_its_lease_ran_out(two_workers):
    first, second = (Schedules(database) for database in two_workers)
    schedule = first.add(CHAT, "Newsroom", "daily", "08:00", "", 42, NOW)
    assert schedule.created_at == "2024-10-22T09:00:00+00:00"
    slot, lease = NOW, timedelta(minutes=10)
    mine = first.claim(schedule.id, slot, "w1", NOW, lease)
    theirs = second.claim(schedule.id, slot, "w2", NOW + timedelta(seconds=1), lease)
    assert mine.ours and not theirs.ours and (theirs.worker, theirs.lease_until) == ("w1", "2024-10-22T09:10:00+00:00")
    assert first.renew(mine, NOW + timedelta(minutes=1), lease)
    first.finish(mine, "posted", NOW + timedelta(minutes=1), last_mark=7)
    late = second.claim(schedule.id, slot, "w2", NOW + timedelta(hours=1), lease)
    assert not late.ours and (late.outcome, late.finished_at) == ("posted", "2024-10-22T09:01:00+00:00")
    assert second.get(schedule.id).last_mark == 7

    tomorrow = NOW + timedelta(days=1)
    dying = first.claim(schedule.id, tomorrow, "w1", tomorrow, lease)
    assert not second.claim(schedule.id, tomorrow, "w2", tomorrow + timedelta(minutes=9), lease).ours
    taking = second.claim(schedule.id, tomorrow, "w2", tomorrow + timedelta(minutes=11), lease)
    assert taking.ours and taking.attempts == 2
    assert not first.renew(dying, tomorrow + timedelta(minutes=12), lease)  # too late: it must not post
    first.finish(dying, "posted", tomorrow + timedelta(minutes=12), last_mark=8)  # nor record anything
    assert second.get(schedule.id).last_mark == 7
    second.finish(taking, "posted", tomorrow + timedelta(minutes=12), last_mark=9)
    assert [(run.outcome, run.worker) for run in first.runs(schedule.id)] == [("posted", "w1"), ("posted", "w2")]

    later = NOW + timedelta(days=2)
    for attempt in range(3):  # three workers in turn die holding the slot: then it is given up
        assert first.claim(schedule.id, later, f"w{attempt}", later + attempt * 2 * lease, lease).ours
    given_up = first.claim(schedule.id, later, "w9", later + 6 * lease, lease)
    assert not given_up.ours and given_up.given_up
    second.remove(schedule.id)
    assert first.runs(schedule.id) == []  # the runs go with their schedule


def test_racing_workers_claim_a_slot_once(two_workers):
    schedules = [Schedules(database) for database in two_workers]
    schedule = schedules[0].add(CHAT, "Newsroom", "daily", "08:00", "", 42, NOW)
    with ThreadPoolExecutor(6) as pool:
        runs = list(
            pool.map(lambda n: schedules[n % 2].claim(schedule.id, NOW, f"w{n}", NOW, timedelta(minutes=10)), range(6))
        )
    assert sum(run.ours for run in runs) == 1 and len({run.worker for run in runs}) == 1


def test_workers_heartbeats_and_inline_queries(two_workers):
    first, second = two_workers
    one, two = Workers(first, "host:1:a"), Workers(second, "host:2:b")
    assert one.beat(1000.0) == 1 and two.beat(1001.0) == 2
    assert [worker["id"] for worker in one.live(1002.0)] == ["host:1:a", "host:2:b"]
    assert two.beat(1000.0 + LIVE_SECONDS + 1) == 1  # the first stopped beating: taken for gone
    two.leave()
    assert one.live(1000.0) == []

    latest, elsewhere = InlineQueries(first), InlineQueries(second)
    latest.note(7, "q1", 1, NOW)
    elsewhere.note(7, "q2", 2, NOW)  # the user typed on; the keystroke went to another worker
    assert not latest.take(7, "q1") and elsewhere.take(7, "q2") and not latest.take(7, "q2")
    elsewhere.note(7, "q4", 4, NOW)
    latest.note(7, "q3", 3, NOW)  # handled concurrently, noted after the newer keystroke: it stays older
    assert not latest.take(7, "q3") and elsewhere.take(7, "q4")


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
