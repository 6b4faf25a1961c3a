"""What the bot remembers across restarts (SQLite): conversation turns, answers shown, feedback."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from answers.types import Answer, Citation, Turn

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    chat_id INTEGER NOT NULL, user_id INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(chat_id, user_id);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, user_id INTEGER NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL, abstained INTEGER NOT NULL, citations TEXT NOT NULL, answerer TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id INTEGER NOT NULL REFERENCES answers(id), user_id INTEGER NOT NULL, vote TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class BotState:
    def __init__(self, path: Path, history_turns: int = 4):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.history_turns = history_turns
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def history(self, chat_id: int, user_id: int) -> list[Turn]:
        rows = self._db.execute(
            "SELECT question, answer FROM turns WHERE chat_id = ? AND user_id = ? ORDER BY rowid DESC LIMIT ?",
            (chat_id, user_id, self.history_turns),
        ).fetchall()
        return [Turn(question, answer) for question, answer in reversed(rows)]

    def remember(self, chat_id: int, user_id: int, answer: Answer) -> int:
        """Records the turn and the answer; returns the answer's id (for its buttons)."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?)", (chat_id, user_id, answer.question, answer.text, _now())
            )
            cursor = self._db.execute(
                "INSERT INTO answers (chat_id, user_id, question, answer, abstained, citations, answerer, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    user_id,
                    answer.question,
                    answer.text,
                    int(answer.abstained),
                    json.dumps([asdict(c) for c in answer.citations], ensure_ascii=False),
                    answer.answerer,
                    _now(),
                ),
            )
            self._db.execute("COMMIT")
            return int(cursor.lastrowid)

    def answer(self, answer_id: int) -> tuple[str, list[Citation]] | None:
        row = self._db.execute("SELECT answer, citations FROM answers WHERE id = ?", (answer_id,)).fetchone()
        if row is None:
            return None
        return row[0], [Citation(**c) for c in json.loads(row[1])]

    def record_feedback(self, answer_id: int, user_id: int, vote: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)", (answer_id, user_id, vote, _now()))

    def feedback(self) -> list[dict]:
        rows = self._db.execute(
            "SELECT f.vote, f.user_id, a.question, a.answer, a.citations FROM feedback f JOIN answers a ON a.id = f.answer_id"
        ).fetchall()
        return [
            {"vote": vote, "user_id": user, "question": q, "answer": text, "citations": json.loads(citations)}
            for vote, user, q, text, citations in rows
        ]
