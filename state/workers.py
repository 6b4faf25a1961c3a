"""The bot processes sharing this state database, known by a heartbeat: each worker writes its row every few
seconds, and a worker not seen for LIVE_SECONDS is taken for gone (its row is deleted by the next heartbeat of
any worker). Times are Unix seconds of each machine's clock (kept in sync by NTP, as everywhere)."""

from __future__ import annotations

import os
import secrets
import socket

from state.database import Database, Row

LIVE_SECONDS = 15.0


def new_worker_id() -> str:
    """This process's name among the workers: host, process id and a random part (ids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Workers:
    def __init__(self, database: Database, worker_id: str):
        self.database = database
        self.worker_id = worker_id

    def beat(self, now: float) -> int:
        """Records that this worker is alive at `now`; returns how many workers are (itself included)."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO workers (id, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                (self.worker_id, socket.gethostname(), os.getpid(), now, now),
            )
            cursor.execute("DELETE FROM workers WHERE seen_at < ?", (now - LIVE_SECONDS,))
            return int(cursor.execute("SELECT count(*) AS n FROM workers").one()["n"])

    def leave(self) -> None:
        """This worker stops: the others take its share at their next heartbeat."""
        with self.database.transaction() as cursor:
            cursor.execute("DELETE FROM workers WHERE id = ?", (self.worker_id,))

    def live(self, now: float) -> list[Row]:
        """The workers seen within LIVE_SECONDS: {"id", "host", "pid", "started_at", "seen_at"}, oldest first."""
        with self.database.transaction() as cursor:
            return cursor.execute(
                "SELECT id, host, pid, started_at, seen_at FROM workers WHERE seen_at >= ? ORDER BY started_at, id",
                (now - LIVE_SECONDS,),
            ).fetchall()
