"""Conversation turns (the context of follow-ups), the answers shown (for their buttons) and feedback."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from answers.types import Answer, Citation, Turn
from common.clock import utc_now
from state.database import Database, Row, stamp

TOKEN_BYTES = 16  # 22 characters in callback data (64 bytes at most)


class Conversations:
    def __init__(self, database: Database, history_turns: int = 4, clock: Callable[[], datetime] = utc_now):
        self.database = database
        self.history_turns = history_turns
        self.clock = clock  # when things are stored: they are deleted HISTORY_DAYS later

    def history(self, chat_id: int, user_id: int) -> list[Turn]:
        with self.database.transaction() as cursor:
            rows = cursor.execute(
                "SELECT question, answer FROM turns WHERE chat_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?",
                (chat_id, user_id, self.history_turns),
            ).fetchall()
        return [Turn(row["question"], row["answer"]) for row in reversed(rows)]

    def remember(self, chat_id: int, user_id: int, answer: Answer) -> str:
        """Records the turn and the answer; returns the answer's button token: random, so that buttons can't be
        guessed (a sequential id would let anyone ask for any chat's sources)."""
        at, token = stamp(self.clock()), secrets.token_urlsafe(TOKEN_BYTES)
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO turns (chat_id, user_id, question, answer, at) VALUES (?, ?, ?, ?, ?)",
                (chat_id, user_id, answer.question, answer.text, at),
            )
            cursor.execute(
                "INSERT INTO answers (chat_id, user_id, question, answer, abstained, citations, answerer, at, token)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    user_id,
                    answer.question,
                    answer.text,
                    int(answer.abstained),
                    json.dumps([asdict(c) for c in answer.citations], ensure_ascii=False),
                    answer.answerer,
                    at,
                    token,
                ),
            )
        return token

    def shown(self, token: str, chat_id: int, message_id: int) -> None:
        """Records the message that carries the answer's buttons: they work there only."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE answers SET message_id = ? WHERE token = ? AND chat_id = ?", (message_id, token, chat_id)
            )

    def button_answer(self, token: str, chat_id: int, message_id: int | None) -> tuple[int, str, list[Citation]] | None:
        """(id, text, citations) of the answer whose buttons are `token` in that chat (and on that message, when
        given); None for any other token, chat or message (a forged or expired button)."""
        on_message, values = (
            ("", (token, chat_id)) if message_id is None else (" AND message_id = ?", (token, chat_id, message_id))
        )
        with self.database.transaction() as cursor:
            row = cursor.execute(
                f"SELECT id, answer, citations FROM answers WHERE token = ? AND chat_id = ?{on_message}", values
            ).fetchone()
        if row is None:
            return None
        return int(row["id"]), row["answer"], [Citation(**c) for c in json.loads(row["citations"])]

    def record_feedback(self, answer_id: int, user_id: int, vote: str) -> None:
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO feedback (answer_id, user_id, vote, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user_id) DO UPDATE SET vote = excluded.vote, at = excluded.at",
                (answer_id, user_id, vote, stamp(self.clock())),
            )

    def forget(self, chat_id: int, user_id: int) -> int:
        """Forgets the user's conversation in the chat (the turns follow-ups build on); returns how many turns."""
        with self.database.transaction() as cursor:
            return cursor.execute("DELETE FROM turns WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)).rowcount

    def feedback(self) -> list[Row]:
        """Every 👍 / 👎, oldest first: {"at", "vote", "user_id", "chat_id", "answer_id", "question", "answer",
        "answerer", "citations"}."""
        with self.database.transaction() as cursor:
            rows = cursor.execute(
                "SELECT f.at, f.vote, f.user_id, a.chat_id, f.answer_id, a.question, a.answer, a.answerer, a.citations"
                " FROM feedback f JOIN answers a ON a.id = f.answer_id ORDER BY f.at, f.answer_id"
            ).fetchall()
        return [{**row, "citations": json.loads(row["citations"])} for row in rows]

    def activity(self, since: datetime) -> dict[str, int]:
        """What happened since `since`: {"answered", "abstained", "up", "down"}."""
        with self.database.transaction() as cursor:
            answers = cursor.execute(
                "SELECT abstained, count(*) AS n FROM answers WHERE at >= ? GROUP BY abstained", (stamp(since),)
            ).fetchall()
            votes = cursor.execute(
                "SELECT vote, count(*) AS n FROM feedback WHERE at >= ? GROUP BY vote", (stamp(since),)
            ).fetchall()
        counts = {"answered": 0, "abstained": 0, "up": 0, "down": 0}
        counts.update({"abstained" if row["abstained"] else "answered": row["n"] for row in answers})
        counts.update({row["vote"]: row["n"] for row in votes if row["vote"] in counts})
        return counts

    def purge(self, before: datetime) -> dict[str, int]:
        """Deletes the turns, answers and feedback stored before `before` (and feedback on such answers); returns
        how many of each."""
        cutoff = stamp(before)
        with self.database.transaction() as cursor:
            feedback = cursor.execute(
                "DELETE FROM feedback WHERE at < ? OR answer_id IN (SELECT id FROM answers WHERE at < ?)",
                (cutoff, cutoff),
            ).rowcount
            return {
                "turns": cursor.execute("DELETE FROM turns WHERE at < ?", (cutoff,)).rowcount,
                "answers": cursor.execute("DELETE FROM answers WHERE at < ?", (cutoff,)).rowcount,
                "feedback": feedback,
            }
