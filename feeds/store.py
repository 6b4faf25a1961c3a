"""Feed subscriptions and the entries already taken in (SQLite, beside the index they feed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from index.articles import normalize_url
from index.errors import NewsbotError
from newsbot.settings import Settings
from newsbot.sqlite_store import SQLiteStore

FILE_NAME = "feeds.sqlite"
MAX_ENTRY_ATTEMPTS = 3  # an entry whose article cannot be fetched is tried at this many polls, then given up
SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, title TEXT NOT NULL, added_at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0, retry_at TEXT, last_error TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, link TEXT NOT NULL, feed_id INTEGER NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL, error TEXT, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_link ON entries(link);
"""


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    title: str
    failures: int  # consecutive failed polls
    retry_at: str | None  # after a failure: not polled again before this (ISO timestamp)
    last_error: str | None


@dataclass(frozen=True)
class Entry:
    guid: str | None
    link: str
    title: str

    @property
    def key(self) -> str:
        return self.guid or normalize_url(self.link)


class FeedStore(SQLiteStore):
    schema = SCHEMA

    def add(self, url: str, title: str, now: datetime) -> Feed:
        with self._db() as db:
            if db.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone():
                raise NewsbotError(f"already subscribed to {url}; `feed list` shows the subscriptions")
            db.execute("INSERT INTO feeds (url, title, added_at) VALUES (?, ?, ?)", (url, title, stamp(now)))
        return next(feed for feed in self.feeds() if feed.url == url)

    def feeds(self) -> list[Feed]:
        with self._db() as db:
            rows = db.execute("SELECT id, url, title, failures, retry_at, last_error FROM feeds ORDER BY id")
            return [Feed(**row) for row in rows]

    def due(self, now: datetime) -> list[Feed]:
        return [feed for feed in self.feeds() if feed.retry_at is None or feed.retry_at <= stamp(now)]

    def remove(self, feed_id: int) -> Feed:
        feed = next((feed for feed in self.feeds() if feed.id == feed_id), None)
        if feed is None:
            raise NewsbotError(f"no feed number {feed_id}; `feed list` shows the numbers")
        with self._db() as db:
            db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return feed

    def failed(self, feed: Feed, error: str, retry_at: datetime) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE feeds SET failures = failures + 1, retry_at = ?, last_error = ? WHERE id = ?",
                (stamp(retry_at), error, feed.id),
            )

    def succeeded(self, feed: Feed, title: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE feeds SET failures = 0, retry_at = NULL, last_error = NULL, title = ? WHERE id = ?",
                (title or feed.title, feed.id),
            )

    def unseen(self, entries: list[Entry]) -> list[Entry]:
        """The entries whose guid and link were never taken in (nor given up on)."""
        with self._db() as db:
            return [
                entry
                for entry in entries
                if not db.execute(
                    "SELECT 1 FROM entries WHERE (key = ? OR link = ?) AND (status != 'failed' OR attempts >= ?)",
                    (entry.key, normalize_url(entry.link), MAX_ENTRY_ATTEMPTS),
                ).fetchone()
            ]

    def record(self, feed: Feed, entry: Entry, error: str | None, now: datetime) -> int:
        """Records an entry as taken in, or as failed (`error`); returns its attempts so far."""
        with self._db() as db:
            db.execute(
                "INSERT INTO entries (key, link, feed_id, status, attempts, error, at) VALUES (?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET status = excluded.status, attempts = attempts + 1,"
                " error = excluded.error, at = excluded.at",
                (entry.key, normalize_url(entry.link), feed.id, "failed" if error else "indexed", error, stamp(now)),
            )
            return db.execute("SELECT attempts FROM entries WHERE key = ?", (entry.key,)).fetchone()[0]


def stamp(moment: datetime) -> str:
    """An aware datetime as a UTC ISO timestamp, which orders as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def feed_store(settings: Settings) -> FeedStore:
    """The subscriptions of the index in INDEX_DIR."""
    return FeedStore(settings.index_dir / FILE_NAME)
