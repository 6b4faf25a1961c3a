"""Where the index and the bot state live: a PostgreSQL URL, or a path on disk."""

from __future__ import annotations

DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: str) -> bool:
    return location.startswith(DATABASE_SCHEMES)
