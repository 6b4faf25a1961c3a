"""Scheduled briefings, kept in the state database so that they survive restarts."""

from __future__ import annotations

from dataclasses import dataclass

from newsbot.errors import NewsbotError
from state.database import Database

COLUMNS = "id, chat_id, chat_name, frequency, at, topic, created_by, last_mark"


@dataclass(frozen=True)
class Schedule:
    id: int
    chat_id: int
    chat_name: str
    frequency: str  # "daily", "weekdays", "weekends" or a day name
    at: str  # "HH:MM" in TIME_ZONE
    topic: str
    created_by: int
    last_mark: int | None  # the index's mark when the last briefing went out: articles added later are new

    def describe(self) -> str:
        on_topic = f" on “{self.topic}”" if self.topic else ""
        return f"#{self.id}: {self.frequency} at {self.at} to {self.chat_name}{on_topic}"


class Schedules:
    def __init__(self, database: Database):
        self.database = database

    def add(self, chat_id: int, chat_name: str, frequency: str, at: str, topic: str, created_by: int) -> Schedule:
        with self.database.transaction() as cursor:
            row = cursor.execute(
                "INSERT INTO schedules (chat_id, chat_name, frequency, at, topic, created_by)"
                f" VALUES (?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}",
                (chat_id, chat_name, frequency, at, topic, created_by),
            ).fetchone()
        return Schedule(**row)

    def get(self, schedule_id: int) -> Schedule | None:
        with self.database.transaction() as cursor:
            row = cursor.execute(f"SELECT {COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        return Schedule(**row) if row else None

    def all(self) -> list[Schedule]:
        with self.database.transaction() as cursor:
            return [
                Schedule(**row) for row in cursor.execute(f"SELECT {COLUMNS} FROM schedules ORDER BY id").fetchall()
            ]

    def remove(self, schedule_id: int) -> Schedule:
        with self.database.transaction() as cursor:
            row = cursor.execute(f"DELETE FROM schedules WHERE id = ? RETURNING {COLUMNS}", (schedule_id,)).fetchone()
        if row is None:
            raise NewsbotError(f"there is no schedule #{schedule_id}; /schedules lists them")
        return Schedule(**row)

    def mark(self, schedule_id: int, last_mark: int) -> None:
        with self.database.transaction() as cursor:
            cursor.execute("UPDATE schedules SET last_mark = ? WHERE id = ?", (last_mark, schedule_id))
