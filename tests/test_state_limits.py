"""Per-user limits in the state database: checked and counted in one statement, so that workers racing for
the last question of a window never both get it; a refusal counts nothing and says when the window ends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from state.backends import open_database
from state.limits import DAY, MINUTE, Limit, Limits
from state.sqlite import SQLiteDatabase
from tests.conftest import BACKENDS

NOW = datetime(2024, 11, 13, 7, 0, 30, tzinfo=UTC)
PER_MINUTE = Limit("questions", 5, MINUTE)
PER_DAY = Limit("llm", 7, DAY)


@pytest.fixture(params=BACKENDS)
def two_workers(request, tmp_path):
    """Two workers' Limits on one state database, each with its own connections, as two processes have."""
    location = str(tmp_path / "state.sqlite") if request.param == "sqlite" else request.getfixturevalue("database_url")
    databases = [open_database(location) for _ in range(2)]
    yield [Limits(database) for database in databases]
    for database in databases:
        database.close()


def test_racing_workers_take_exactly_the_allowed_questions(two_workers):
    limits = two_workers[0]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: two_workers[n % 2].take("user:1", [PER_MINUTE], NOW), range(20)))
    assert results.count(None) == 5
    refusal = next(result for result in results if result is not None)
    assert refusal.retry_at == datetime(2024, 11, 13, 7, 1, tzinfo=UTC) and refusal.wait_seconds(NOW) == 30
    assert limits.take("user:2", [PER_MINUTE], NOW) is None  # others have their own count
    assert limits.take("user:1", [PER_MINUTE], NOW + timedelta(seconds=30)) is None  # the next minute


def test_a_refused_question_counts_against_no_limit(tmp_path):
    limits = Limits(SQLiteDatabase(tmp_path / "state.sqlite"))
    both = [PER_MINUTE, PER_DAY]
    taken = [limits.take("chat:-100", both, NOW + timedelta(minutes=minute)) for minute in range(7)]
    assert taken == [None] * 7
    refusal = limits.take("chat:-100", both, NOW + timedelta(minutes=8))
    assert refusal.limit == PER_DAY and refusal.retry_at == datetime(2024, 11, 14, tzinfo=UTC)
    with limits.database.transaction() as cursor:  # the minute's count was rolled back with the refusal
        counted = cursor.execute(
            "SELECT count FROM question_counts WHERE kind = 'questions' AND window_start = ?",
            (int((NOW + timedelta(minutes=8)).timestamp()) // 60 * 60,),
        ).fetchone()
    assert counted is None
    assert limits.take("chat:-100", [Limit("questions", 0, MINUTE)], NOW) is None  # 0: no limit


def test_only_the_first_refusal_of_a_window_is_first(two_workers):
    """Issue 18, item 11: racing workers past a limit: exactly one refusal of the window is `first` (the one the
    sender is told); a new window starts afresh."""
    commands = Limit("commands", 3, MINUTE)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: two_workers[n % 2].take("user:7", [commands], NOW), range(12)))
    refusals = [result for result in results if result is not None]
    assert len(refusals) == 9 and [refusal.first for refusal in refusals].count(True) == 1
    assert two_workers[0].take("user:7", [commands], NOW + timedelta(minutes=1)) is None
