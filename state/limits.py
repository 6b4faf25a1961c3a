"""Per-user limits on questions and commands, counted in the state database so that several bot workers share
them.

A limit allows `allowed` actions per fixed window of `seconds` (a minute, a day) to a subject (a user, or a
chat that sends as itself). Checking and counting are one statement: the count goes up only while it is under
the limit, so two workers answering the same user at once can never both take the last question. The first
refusal of a window is counted too (the count goes one past the limit), so that exactly one refusal of a window
is `first`: a sender who goes on is told once, not at every message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from state.database import Database

MINUTE = 60
DAY = 86_400


@dataclass(frozen=True)
class Limit:
    kind: str  # what is counted: "questions", "llm"
    allowed: int  # per window; 0: no limit
    seconds: int  # the window: windows start at multiples of it since the Unix epoch (days at 00:00 UTC)


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    retry_at: datetime  # when the subject's next window starts
    first: bool = True  # the window's first refusal (across workers): the one to tell the sender

    def wait_seconds(self, now: datetime) -> int:
        return max(1, round((self.retry_at - now).total_seconds()))


class _Refused(Exception):
    def __init__(self, refusal: Refusal):
        self.refusal = refusal


class Limits:
    def __init__(self, database: Database):
        self.database = database

    def take(self, subject: str, limits: list[Limit], now: datetime) -> Refusal | None:
        """Counts one question against each limit, or against none when one of them is used up (its Refusal)."""
        try:
            with self.database.transaction() as cursor:  # a refusal rolls back what was counted before it
                for limit in (limit for limit in limits if limit.allowed > 0):
                    start = window_start(now, limit.seconds)
                    cursor.execute(  # the subject's windows that are over: the table holds only current ones
                        "DELETE FROM question_counts WHERE subject = ? AND kind = ? AND window_start < ?",
                        (subject, limit.kind, start),
                    )
                    counted = cursor.execute(
                        "INSERT INTO question_counts (subject, kind, window_start, count) VALUES (?, ?, ?, 1)"
                        " ON CONFLICT (subject, kind, window_start) DO UPDATE SET count = question_counts.count + 1"
                        " WHERE question_counts.count < ? RETURNING count",
                        (subject, limit.kind, start, limit.allowed),
                    ).fetchone()
                    if counted is None:
                        raise _Refused(Refusal(limit, datetime.fromtimestamp(start + limit.seconds, UTC)))
        except _Refused as refused:
            return self._told(subject, refused.refusal)
        return None

    def _told(self, subject: str, refusal: Refusal) -> Refusal:
        """`refusal`, `first` when it is the window's first (its count then goes one past the limit)."""
        limit = refusal.limit
        start = int(refusal.retry_at.timestamp()) - limit.seconds
        with self.database.transaction() as cursor:
            counted = cursor.execute(
                "UPDATE question_counts SET count = count + 1"
                " WHERE subject = ? AND kind = ? AND window_start = ? AND count = ? RETURNING count",
                (subject, limit.kind, start, limit.allowed),
            ).fetchone()
        return replace(refusal, first=counted is not None)


def window_start(now: datetime, seconds: int) -> int:
    stamp = int(now.timestamp())
    return stamp - stamp % seconds
