"""Per-chat settings chosen by a chat's admins (/settings): answer length, an outlet or topic filter, a time zone."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from state.database import Database, stamp

LENGTHS = ("short", "detailed")


@dataclass(frozen=True)
class ChatSettings:
    """A chat's choices; "" keeps the bot's default."""

    length: str = "short"  # one of LENGTHS
    outlet: str = ""  # answers only from this outlet's articles
    topic: str = ""  # answers only from passages about this topic
    time_zone: str = ""  # IANA name, for time words and briefings; "": TIME_ZONE


NAMES = tuple(field.name for field in fields(ChatSettings))


class ChatSettingsStore:
    def __init__(self, database: Database):
        self.database = database

    def get(self, chat_id: int) -> ChatSettings:
        with self.database.transaction() as cursor:
            row = cursor.execute(
                f"SELECT {', '.join(NAMES)} FROM chat_settings WHERE chat_id = ?", (chat_id,)
            ).fetchone()
        return ChatSettings(**{name: value for name, value in (row or {}).items() if value}) if row else ChatSettings()

    def change(self, chat_id: int, name: str, value: str, by: int, now: datetime) -> ChatSettings:
        """Sets one setting of the chat ("": back to the default); the others stay. Returns the chat's settings."""
        if name not in NAMES:
            raise ValueError(f"no chat setting {name}")
        with self.database.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO chat_settings (chat_id, {name}, updated_by, updated_at) VALUES (?, ?, ?, ?)"
                f" ON CONFLICT (chat_id) DO UPDATE SET {name} = excluded.{name}, updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                (chat_id, value, by, stamp(now)),
            )
        return self.get(chat_id)

    def time_zones(self) -> dict[int, str]:
        """The chats with a time zone of their own (for scheduled briefings)."""
        with self.database.transaction() as cursor:
            rows = cursor.execute("SELECT chat_id, time_zone FROM chat_settings WHERE time_zone != ''").fetchall()
        return {row["chat_id"]: row["time_zone"] for row in rows}
