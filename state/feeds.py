"""Feed subscriptions and the entries already taken in.

Several workers may poll the same feeds: a worker claims each feed's poll (others leave the feed alone for most
of a poll interval), then each new entry before fetching its article (others skip it while the claim lasts), so
that every entry is fetched, indexed and reported once. A claimed entry whose worker died is claimed again once
the claim has run out; every claim counts as one of its MAX_ENTRY_ATTEMPTS attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from common.errors import NewsbotError
from index.articles import url_identity
from state.database import Cursor, Database, Row, is_row_id, stamp

MAX_ENTRY_ATTEMPTS = 3  # an entry whose article cannot be fetched is tried at this many polls, then given up
FEED_COLUMNS = (
    "id, url, title, failures, retry_at, last_error, failing_since, paused_at, etag, last_modified, polled_at"
)


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
    polled_at: str | None = None  # when a worker last claimed its poll


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

    def claim_polls(self, now: datetime, rest: timedelta | None) -> list[Feed]:
        """Claims the polls of the feeds that are not paused and, with `rest`, only of those not backing off
        nor polled by any worker within `rest`; None: every feed that is not paused (an admin's /feed poll)."""
        due = " AND (retry_at IS NULL OR retry_at <= ?) AND (polled_at IS NULL OR polled_at <= ?)" if rest else ""
        with self.database.transaction() as cursor:
            rows = cursor.execute(
                f"UPDATE feeds SET polled_at = ? WHERE paused_at IS NULL{due} RETURNING {FEED_COLUMNS}",
                (stamp(now), stamp(now), stamp(now - rest)) if rest else (stamp(now),),
            ).fetchall()
        return sorted((Feed(**row) for row in rows), key=lambda feed: feed.id)

    def remove(self, feed_id: int) -> Feed:
        row = None
        if is_row_id(feed_id):
            with self.database.transaction() as cursor:
                row = cursor.execute(f"DELETE FROM feeds WHERE id = ? RETURNING {FEED_COLUMNS}", (feed_id,)).fetchone()
        return _found(row, feed_id)

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
        row = None
        if is_row_id(feed_id):
            with self.database.transaction() as cursor:
                row = cursor.execute(
                    "UPDATE feeds SET paused_at = NULL, failures = 0, retry_at = NULL, failing_since = NULL"
                    f" WHERE id = ? RETURNING {FEED_COLUMNS}",
                    (feed_id,),
                ).fetchone()
        return _found(row, feed_id)

    def succeeded(self, feed: Feed, title: str, etag: str | None = None, last_modified: str | None = None) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE feeds SET failures = 0, retry_at = NULL, last_error = NULL, failing_since = NULL, title = ?,"
                " etag = ?, last_modified = ? WHERE id = ?",
                (title or feed.title, etag, last_modified, feed.id),
            )

    def unseen(self, entries: list[Entry], now: datetime) -> list[Entry]:
        """The entries whose guid and link were never taken in, given up on, nor claimed by a worker now."""
        with self.database.transaction() as cursor:
            return [entry for entry in entries if not _seen(cursor, entry, stamp(now))]

    def claim(
        self, feed: Feed, entries: list[Entry], worker: str, now: datetime, lease: timedelta, limit: int
    ) -> list[Entry]:
        """Claims up to `limit` of the unseen entries for `worker` until now + lease (each claim is an attempt);
        the entries claimed, in order. An entry another worker has claimed (while its claim lasts) or taken in
        since they were found unseen is left alone: the claim is made on the entry's key, in one statement."""
        claimed: list[Entry] = []
        for entry in self.unseen(entries, now):
            if len(claimed) == limit:
                break
            with self.database.transaction() as cursor:  # one entry at a time: no lock is held on two
                taken = cursor.execute(
                    "INSERT INTO entries (key, link, feed_id, status, attempts, at, claimed_by, claimed_until)"
                    " VALUES (?, ?, ?, 'claimed', 1, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET status = 'claimed',"
                    " attempts = entries.attempts + 1, at = excluded.at, claimed_by = excluded.claimed_by,"
                    " claimed_until = excluded.claimed_until WHERE entries.attempts < ? AND (entries.status = 'failed'"
                    " OR (entries.status = 'claimed' AND entries.claimed_until <= ?)) RETURNING attempts",
                    (
                        entry.key,
                        url_identity(entry.link),
                        feed.id,
                        stamp(now),
                        worker,
                        stamp(now + lease),
                        MAX_ENTRY_ATTEMPTS,
                        stamp(now),
                    ),
                ).fetchone()
            if taken:
                claimed.append(entry)
        return claimed

    def record(self, feed: Feed, entry: Entry, error: str | None, now: datetime) -> int:
        """Records a claimed entry as taken in, or as failed (`error`); returns its attempts so far."""
        with self.database.transaction() as cursor:
            row = cursor.execute(
                "INSERT INTO entries (key, link, feed_id, status, attempts, error, at) VALUES (?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET status = excluded.status, error = excluded.error, at = excluded.at,"
                " claimed_by = NULL, claimed_until = NULL RETURNING attempts",
                (entry.key, url_identity(entry.link), feed.id, "failed" if error else "indexed", error, stamp(now)),
            ).one()
        return int(row["attempts"])

    def release(self, entries: list[Entry], worker: str, error: str) -> None:
        """Gives back the worker's claims on entries it could not try (the index was busy): not an attempt."""
        with self.database.transaction() as cursor:
            for entry in entries:
                cursor.execute(
                    "UPDATE entries SET status = 'failed', attempts = attempts - 1, error = ?, claimed_by = NULL,"
                    " claimed_until = NULL WHERE key = ? AND status = 'claimed' AND claimed_by = ?",
                    (error, entry.key, worker),
                )


def _seen(cursor: Cursor, entry: Entry, now: str) -> bool:
    """Whether the entry (by guid or link) was taken in, given up on, or is claimed by a worker now."""
    return bool(
        cursor.execute(
            "SELECT 1 AS seen FROM entries WHERE (key = ? OR link = ?) AND (status = 'indexed' OR attempts >= ?"
            " OR (status = 'claimed' AND claimed_until > ?))",
            (entry.key, url_identity(entry.link), MAX_ENTRY_ATTEMPTS, now),
        ).fetchone()
    )


def _found(row: Row | None, feed_id: int) -> Feed:
    if row is None:
        raise NewsbotError(f"no feed number {feed_id}; `feed list` shows the numbers")
    return Feed(**row)
