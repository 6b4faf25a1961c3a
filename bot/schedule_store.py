"""Scheduled briefings, kept in the bot's state database so that they survive restarts."""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import NewsbotError
from newsbot.sqlite_store import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, chat_name TEXT NOT NULL, frequency TEXT NOT NULL,
    at TEXT NOT NULL, topic TEXT NOT NULL, created_by INTEGER NOT NULL, last_mark INTEGER
);
"""
COLUMNS = "id, chat_id, chat_name, frequency, at, topic, created_by, last_mark"


@dataclass(frozen=True)
class Schedule:
    id: int
    chat_id: int
    chat_name: str
    frequency: str  # "daily", "weekdays" or a day name
    at: str  # "HH:MM" in TIME_ZONE
    topic: str
    created_by: int
    last_mark: int | None  # the `index_mark` when the last briefing went out: articles indexed after it are new

    def describe(self) -> str:
        on_topic = f" on “{self.topic}”" if self.topic else ""
        return f"#{self.id}: {self.frequency} at {self.at} to {self.chat_name}{on_topic}"


class ScheduleStore(SQLiteStore):
    schema = SCHEMA

    def add(self, chat_id: int, chat_name: str, frequency: str, at: str, topic: str, created_by: int) -> Schedule:
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO schedules (chat_id, chat_name, frequency, at, topic, created_by) VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, chat_name, frequency, at, topic, created_by),
            )
        return self.get(cursor.lastrowid)

    def get(self, schedule_id: int) -> Schedule | None:
        with self._db() as db:
            row = db.execute(f"SELECT {COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        return Schedule(**row) if row else None

    def all(self) -> list[Schedule]:
        with self._db() as db:
            return [Schedule(**row) for row in db.execute(f"SELECT {COLUMNS} FROM schedules ORDER BY id")]

    def remove(self, schedule_id: int) -> Schedule:
        schedule = self.get(schedule_id)
        if schedule is None:
            raise NewsbotError(f"there is no schedule #{schedule_id}; /schedules lists them")
        with self._db() as db:
            db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
        return schedule

    def mark(self, schedule_id: int, last_mark: int) -> None:
        with self._db() as db:
            db.execute("UPDATE schedules SET last_mark = ? WHERE id = ?", (last_mark, schedule_id))
