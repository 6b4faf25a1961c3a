"""Inline mode's debounce, shared by the workers: Telegram sends an inline query per keystroke, and any worker
may get any of them. Each user's newest query is noted here; after a pause, the worker holding a query answers
it only if it is still the newest, and takes it (deletes it) in the same statement, so one worker answers it."""

from __future__ import annotations

from datetime import datetime

from state.database import Database, stamp


class InlineQueries:
    def __init__(self, database: Database):
        self.database = database

    def note(self, user_id: int, query_id: str, update_id: int, now: datetime) -> None:
        """`query_id` is the user's newest query, unless a later update (a higher `update_id`) was noted first."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO inline_queries (user_id, query_id, update_id, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET query_id = excluded.query_id, update_id = excluded.update_id,"
                " at = excluded.at WHERE inline_queries.update_id < excluded.update_id",
                (user_id, query_id, update_id, stamp(now)),
            )

    def take(self, user_id: int, query_id: str) -> bool:
        """True (once) when `query_id` is still the user's newest query: the caller answers it."""
        with self.database.transaction() as cursor:
            return (
                cursor.execute(
                    "DELETE FROM inline_queries WHERE user_id = ? AND query_id = ?", (user_id, query_id)
                ).rowcount
                == 1
            )
