"""Secrets made once per installation and kept in the state database, so that every worker sharing it (and
every restart) uses the same one."""

from __future__ import annotations

import secrets

from common.clock import utc_now
from state.database import Database, stamp


class InstallationSecrets:
    def __init__(self, database: Database):
        self.database = database

    def get(self, name: str) -> str:
        """The secret called `name`, made on first use (url-safe: letters, digits, _ and -)."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO installation_secrets (name, value, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_urlsafe(32), stamp(utc_now())),
            )
            row = cursor.execute("SELECT value FROM installation_secrets WHERE name = ?", (name,)).one()
        return str(row["value"])
