"""Feed subscriptions and the entries already taken in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from index.articles import url_identity
from newsbot.errors import NewsbotError
from state.database import Database, stamp

MAX_ENTRY_ATTEMPTS = 3  # an entry whose article cannot be fetched is tried at this many polls, then given up
FEED_COLUMNS = "id, url, title, failures, retry_at, last_error, failing_since, paused_at, etag, last_modified"


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    title: str
    failures: int  # consecutive failed polls
    retry_at: str | None  # after a failure: not polled again before this (ISO timestamp)
    last_error: str | None
    failing_since: str | None = None  # the first failure of the current run of failures (ISO timestamp)
    paused_at: str | None = None  # paused after failing for too long: not polled until resumed
    etag: str | None = None  # the validators of its last response, for a conditional GET
    last_modified: str | None = None


@dataclass(frozen=True)
class Entry:
    """An entry a feed lists: an article's link, with the feed's id for it when it gives one."""

    guid: str | None
    link: str
    title: str
    published: str | None = None  # ISO, when the feed dates the entry: the article's date if its page has none

    @property
    def key(self) -> str:
        return self.guid or url_identity(self.link)


class FeedSubscriptions:
    def __init__(self, database: Database):
        self.database = database

    def add(self, url: str, title: str, now: datetime) -> Feed:
        with self.database.transaction() as cursor:
            row = cursor.execute(
                f"INSERT INTO feeds (url, title, added_at) VALUES (?, ?, ?) ON CONFLICT (url) DO NOTHING"
                f" RETURNING {FEED_COLUMNS}",
                (url, title, stamp(now)),
            ).fetchone()
        if row is None:
            raise NewsbotError(f"already subscribed to {url}; `feed list` shows the subscriptions")
        return Feed(**row)

    def feeds(self) -> list[Feed]:
        with self.database.transaction() as cursor:
            return [Feed(**row) for row in cursor.execute(f"SELECT {FEED_COLUMNS} FROM feeds ORDER BY id").fetchall()]

    def due(self, now: datetime) -> list[Feed]:
        return [feed for feed in self.active() if feed.retry_at is None or feed.retry_at <= stamp(now)]

    def active(self) -> list[Feed]:
        """The feeds that are not paused."""
        return [feed for feed in self.feeds() if feed.paused_at is None]

    def remove(self, feed_id: int) -> Feed:
        with self.database.transaction() as cursor:
            row = cursor.execute(f"DELETE FROM feeds WHERE id = ? RETURNING {FEED_COLUMNS}", (feed_id,)).fetchone()
        if row is None:
            raise NewsbotError(f"no feed number {feed_id}; `feed list` shows the numbers")
        return Feed(**row)

    def failed(self, feed: Feed, error: str, retry_at: datetime, now: datetime) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE feeds SET failures = failures + 1, retry_at = ?, last_error = ?,"
                " failing_since = coalesce(failing_since, ?) WHERE id = ?",
                (stamp(retry_at), error, stamp(now), feed.id),
            )

    def pause(self, feed: Feed, now: datetime) -> None:
        with self.database.transaction() as cursor:
            cursor.execute("UPDATE feeds SET paused_at = ? WHERE id = ?", (stamp(now), feed.id))

    def resume(self, feed_id: int) -> Feed:
        """A fresh start for a feed: polled at the next poll, its failures forgotten."""
        with self.database.transaction() as cursor:
            row = cursor.execute(
                "UPDATE feeds SET paused_at = NULL, failures = 0, retry_at = NULL, failing_since = NULL"
                f" WHERE id = ? RETURNING {FEED_COLUMNS}",
                (feed_id,),
            ).fetchone()
        if row is None:
            raise NewsbotError(f"no feed number {feed_id}; `feed list` shows the numbers")
        return Feed(**row)

    def succeeded(self, feed: Feed, title: str, etag: str | None = None, last_modified: str | None = None) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE feeds SET failures = 0, retry_at = NULL, last_error = NULL, failing_since = NULL, title = ?,"
                " etag = ?, last_modified = ? WHERE id = ?",
                (title or feed.title, etag, last_modified, feed.id),
            )

    def unseen(self, entries: list[Entry]) -> list[Entry]:
        """The entries whose guid and link were never taken in (nor given up on)."""
        with self.database.transaction() as cursor:
            return [
                entry
                for entry in entries
                if not cursor.execute(
                    "SELECT 1 AS seen FROM entries WHERE (key = ? OR link = ?) AND (status != 'failed' OR attempts >= ?)",
                    (entry.key, url_identity(entry.link), MAX_ENTRY_ATTEMPTS),
                ).fetchone()
            ]

    def record(self, feed: Feed, entry: Entry, error: str | None, now: datetime) -> int:
        """Records an entry as taken in, or as failed (`error`); returns its attempts so far."""
        with self.database.transaction() as cursor:
            row = cursor.execute(
                "INSERT INTO entries (key, link, feed_id, status, attempts, error, at) VALUES (?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET status = excluded.status, attempts = entries.attempts + 1,"
                " error = excluded.error, at = excluded.at RETURNING attempts",
                (entry.key, url_identity(entry.link), feed.id, "failed" if error else "indexed", error, stamp(now)),
            ).fetchone()
        return int(row["attempts"])
