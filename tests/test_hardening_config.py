"""Issue 18, settings a typo gets wrong, through real `newsbot` processes: a DATABASE_URL that is not quite a
PostgreSQL URL (1), a TIME_ZONE that is a folder (6), day counts and ids too big for dates and the database (9),
a negative STALE_AFTER_DAYS and the settings .env.example leaves unexplained (20). Each is one line naming what
was wrong, never a traceback, never a password."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.hardening_support import (
    PASSWORD,
    REPO,
    assert_no_traceback,
    assert_one_line,
    newsbot,
    write_jsonl,
)

HUGE = "99999999999999999999999"
ARTICLE = {
    "title": "Harbour reopens",
    "text": "The harbour reopened on Monday after the storm.",
    "url": "https://a.example/1",
}


def entries_under(root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in root.rglob("*")]


# -- 1: DATABASE_URL --------------------------------------------------------------------------------------------

MISTYPED = {
    "sqlalchemy-spelling": "postgresql+psycopg://newsbot:{pw}@/nb1?host={socket}",
    "upper-case-scheme": "POSTGRESQL://newsbot:{pw}@/nb1?host={socket}",
    "leading-space": " postgresql://newsbot:{pw}@/nb1?host={socket}",
}


@pytest.mark.parametrize("url", MISTYPED.values(), ids=MISTYPED.keys())
def test_a_mistyped_database_url_is_an_error_and_never_a_folder(tmp_path, url):
    """Issue 18, item 1: `DATABASE_URL='postgresql+psycopg://newsbot:PW@/nb1?host=…' newsbot index add a.json`
    (also an upper-case scheme, a leading space) is a PostgreSQL URL or an error: here no server answers at that
    socket folder, so `index add` and `index check` fail in one line. Nothing is added to a SQLite index in a
    folder named after the URL, and the password shows nowhere: not in the output, not in a file name."""
    database_url = url.format(pw=PASSWORD, socket=tmp_path / "no-server-here")
    write_jsonl(tmp_path / "a.jsonl", ARTICLE)
    added = newsbot("index", "add", "a.jsonl", cwd=tmp_path, DATABASE_URL=database_url)
    checked = newsbot("index", "check", cwd=tmp_path, DATABASE_URL=database_url)
    for result in (added, checked):
        assert PASSWORD not in result.stdout + result.stderr
        assert result.returncode != 0, result.stdout
        assert_one_line(result.stderr)
    assert not re.search(r"\badded [1-9]", added.stdout)
    named_after_url = [e for e in entries_under(tmp_path) if PASSWORD in e or "postgres" in e.lower() or "nb1" in e]
    assert named_after_url == []


def test_a_malformed_postgresql_url_is_one_line(tmp_path):
    """Issue 18, item 1: `postgresql://u:p@[::1:bad/db` is one line naming DATABASE_URL, not a ValueError
    traceback, and without the password."""
    write_jsonl(tmp_path / "a.jsonl", ARTICLE)
    result = newsbot("index", "add", "a.jsonl", cwd=tmp_path, DATABASE_URL=f"postgresql://u:{PASSWORD}@[::1:bad/db")
    assert result.returncode != 0
    assert PASSWORD not in result.stdout + result.stderr
    assert_one_line(result.stderr, "DATABASE_URL")


# -- 6: TIME_ZONE -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe", "Etc", "Europe/" + "x" * 300], ids=["Europe", "Etc", "Europe-300"])
def test_a_time_zone_setting_that_is_a_folder_is_one_line(tmp_path, zone):
    """Issue 18, item 6: `TIME_ZONE=Europe newsbot …` (also `Etc`, `Europe/` + 300 characters) is one line
    naming TIME_ZONE, not IsADirectoryError or "File name too long"."""
    result = newsbot("index", "stats", cwd=tmp_path, TIME_ZONE=zone)
    assert result.returncode != 0
    assert_one_line(result.stderr, "TIME_ZONE")


# -- 9: numbers too big --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("feed", "remove", HUGE), ("feed", "resume", HUGE)], ids=["remove", "resume"])
def test_a_huge_feed_number_is_one_line(tmp_path, command):
    """Issue 18, item 9: `newsbot feed remove 99999999999999999999999` (and `feed resume`) says there is no such
    feed in one line, not OverflowError."""
    result = newsbot(*command, cwd=tmp_path)
    assert result.returncode != 0
    assert_one_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "env"),
    [(("purge", "--days", "999999999"), {}), (("purge",), {"HISTORY_DAYS": "800000"})],
    ids=["purge --days 999999999", "HISTORY_DAYS=800000"],
)
def test_a_day_count_too_big_for_a_date_is_refused_or_harmless(tmp_path, args, env):
    """Issue 18, item 9: `newsbot purge --days 999999999` and `HISTORY_DAYS=800000` (the daily purge job would
    fail every day) are refused in one line naming the option or setting, or purge nothing; never an
    OverflowError."""
    result = newsbot(*args, cwd=tmp_path, **env)
    assert_no_traceback(result.stdout + result.stderr)
    if result.returncode != 0:
        assert_one_line(result.stderr, "--days" if "--days" in args else "HISTORY_DAYS")


# -- 20: STALE_AFTER_DAYS, .env.example ------------------------------------------------------------------------------


def test_a_negative_stale_after_days_is_refused_in_one_line(tmp_path):
    """Issue 18, item 20: `STALE_AFTER_DAYS=-1` is refused in one line naming the setting (it was accepted)."""
    result = newsbot("purge", cwd=tmp_path, STALE_AFTER_DAYS="-1")  # a command that needs no index
    assert result.returncode != 0
    assert_one_line(result.stderr, "STALE_AFTER_DAYS")


def explained(lines: list[str], name: str) -> bool:
    """`name` is explained in .env.example: a comment names it, or a comment block stands right above its line."""
    assignment = re.compile(rf"^#?\s*{name}=")
    if any(line.startswith("#") and name in line and not assignment.match(line) for line in lines):
        return True
    numbers = [n for n, line in enumerate(lines) if assignment.match(line)]
    assert len(numbers) == 1, f"{name} should be in .env.example once, set or commented out"
    number = numbers[0]
    above = lines[number - 1] if number else ""
    return above.startswith("#") and not re.match(r"^#\s*[A-Z_]+=", above)


@pytest.mark.parametrize("name", ["PASSAGE_CHARS", "EMBEDDING_BATCH_SIZE", "COMMIT_EVERY_PASSAGES"])
def test_env_example_explains_every_indexing_setting(name):
    """Issue 18, item 20: .env.example explains PASSAGE_CHARS, EMBEDDING_BATCH_SIZE and COMMIT_EVERY_PASSAGES
    (a comment naming the setting, or a comment right above its line)."""
    lines = (REPO / ".env.example").read_text().splitlines()
    assert explained(lines, name)
