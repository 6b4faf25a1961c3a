"""Scheduled briefings, kept in the state database so that they survive restarts, and their runs: each
occurrence of a schedule (a slot) is claimed by one worker before it is prepared, so that it is posted once
however many workers run the schedule.

A claim is a lease. The worker holding it renews it just before it posts and records the run as finished in the
same transaction as the schedule's new mark; nobody claims a finished slot again. A claim whose lease ran out
unfinished (its worker died, or took longer than the lease) may be taken over by another worker, at most
MAX_RUN_ATTEMPTS claims in all; a worker that lost its lease does not post. So a slot is posted once when its
worker succeeds, late when a worker died before posting, and twice only if a worker dies between Telegram
accepting the briefing and the database recording it (a moment's window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from common.clock import utc_now
from common.errors import NewsbotError
from state.database import Database, is_row_id, stamp

COLUMNS = "id, chat_id, chat_name, frequency, at, topic, created_by, last_mark, created_at"
MAX_RUN_ATTEMPTS = 3


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
    created_at: str | None = None  # ISO timestamp (None: made before it was recorded)

    def describe(self) -> str:
        on_topic = f" on “{self.topic}”" if self.topic else ""
        return f"#{self.id}: {self.frequency} at {self.at} to {self.chat_name}{on_topic}"


class Schedules:
    def __init__(self, database: Database):
        self.database = database

    def add(
        self,
        chat_id: int,
        chat_name: str,
        frequency: str,
        at: str,
        topic: str,
        created_by: int,
        now: datetime | None = None,
    ) -> Schedule:
        with self.database.transaction() as cursor:
            row = cursor.execute(
                "INSERT INTO schedules (chat_id, chat_name, frequency, at, topic, created_by, created_at)"
                f" VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}",
                (chat_id, chat_name, frequency, at, topic, created_by, stamp(now or utc_now())),
            ).one()
        return Schedule(**row)

    def get(self, schedule_id: int) -> Schedule | None:
        if not is_row_id(schedule_id):
            return None
        with self.database.transaction() as cursor:
            row = cursor.execute(f"SELECT {COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        return Schedule(**row) if row else None

    def all(self) -> list[Schedule]:
        with self.database.transaction() as cursor:
            return [
                Schedule(**row) for row in cursor.execute(f"SELECT {COLUMNS} FROM schedules ORDER BY id").fetchall()
            ]

    def remove(self, schedule_id: int) -> Schedule:
        row = None
        if is_row_id(schedule_id):
            with self.database.transaction() as cursor:
                row = cursor.execute(
                    f"DELETE FROM schedules WHERE id = ? RETURNING {COLUMNS}", (schedule_id,)
                ).fetchone()
        if row is None:
            raise NewsbotError(f"there is no schedule #{schedule_id}; /schedules lists them")
        return Schedule(**row)

    def mark(self, schedule_id: int, last_mark: int) -> None:
        with self.database.transaction() as cursor:
            cursor.execute("UPDATE schedules SET last_mark = ? WHERE id = ?", (last_mark, schedule_id))

    def claim(self, schedule_id: int, slot: datetime, worker: str, now: datetime, lease: timedelta) -> Run:
        """Claims the slot's run for `worker` until now + lease, unless it is finished, another claim's lease
        is running, or it was claimed MAX_RUN_ATTEMPTS times; the run as it stands (`ours`: claimed now)."""
        with self.database.transaction() as cursor:
            row = cursor.execute(
                "INSERT INTO schedule_runs (schedule_id, slot, worker, lease_until, attempts) VALUES (?, ?, ?, ?, 1)"
                " ON CONFLICT (schedule_id, slot) DO UPDATE SET worker = excluded.worker,"
                " lease_until = excluded.lease_until, attempts = schedule_runs.attempts + 1"
                " WHERE schedule_runs.finished_at IS NULL AND schedule_runs.lease_until < ?"
                f" AND schedule_runs.attempts < ? RETURNING {RUN_COLUMNS}",
                (schedule_id, stamp(slot), worker, stamp(now + lease), stamp(now), MAX_RUN_ATTEMPTS),
            ).fetchone()
            if row is not None:
                return Run(**row, ours=True)
            row = cursor.execute(
                f"SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ? AND slot = ?",
                (schedule_id, stamp(slot)),
            ).one()
        return Run(**row, ours=False)

    def renew(self, run: Run, now: datetime, lease: timedelta) -> bool:
        """Extends the worker's claim to now + lease; False when it is no longer the worker's (taken over after
        its lease ran out: the worker must not post)."""
        with self.database.transaction() as cursor:
            return (
                cursor.execute(
                    "UPDATE schedule_runs SET lease_until = ? WHERE schedule_id = ? AND slot = ? AND worker = ?"
                    " AND attempts = ? AND finished_at IS NULL",
                    (stamp(now + lease), run.schedule_id, run.slot, run.worker, run.attempts),
                ).rowcount
                == 1
            )

    def finish(self, run: Run, outcome: str, now: datetime, last_mark: int | None = None) -> None:
        """Records the worker's run as finished ("posted", "failed"...) and, when given, the schedule's new mark,
        in one transaction; nothing if the run is no longer the worker's."""
        with self.database.transaction() as cursor:
            finished = cursor.execute(
                "UPDATE schedule_runs SET finished_at = ?, outcome = ? WHERE schedule_id = ? AND slot = ? AND worker = ?"
                " AND attempts = ?",
                (stamp(now), outcome, run.schedule_id, run.slot, run.worker, run.attempts),
            ).rowcount
            if finished and last_mark is not None:
                cursor.execute("UPDATE schedules SET last_mark = ? WHERE id = ?", (last_mark, run.schedule_id))

    def runs(self, schedule_id: int) -> list[Run]:
        with self.database.transaction() as cursor:
            rows = cursor.execute(
                f"SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ? ORDER BY slot", (schedule_id,)
            ).fetchall()
        return [Run(**row, ours=False) for row in rows]


RUN_COLUMNS = "schedule_id, slot, worker, lease_until, attempts, finished_at, outcome"


@dataclass(frozen=True)
class Run:
    """One slot of a schedule: who claimed it, until when, and how it ended."""

    schedule_id: int
    slot: str  # the occurrence's UTC ISO timestamp
    worker: str
    lease_until: str
    attempts: int
    finished_at: str | None
    outcome: str | None
    ours: bool  # claimed by this call

    @property
    def given_up(self) -> bool:
        return self.finished_at is None and self.attempts >= MAX_RUN_ATTEMPTS
