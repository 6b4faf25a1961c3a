"""Where the index and the bot state live: a PostgreSQL URL, or a path on disk. What counts as a PostgreSQL URL
is decided here, once: DATABASE_URL is one (in the spelling libpq reads) or an error, never a path."""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("postgresql", "postgres")  # what libpq reads
EXAMPLE = "postgresql://user:password@host:5432/database"


def is_database_url(location: str) -> bool:
    """Whether `location` names a PostgreSQL database (any spelling `database_url` accepts) rather than a path."""
    return _scheme(location) is not None


def database_url(value: str) -> str:
    """DATABASE_URL as libpq reads it: trimmed, the scheme in lower case, SQLAlchemy's `postgresql+psycopg://`
    spelling accepted. ValueError, saying what is wrong without repeating the value (it holds a password), when it
    is not a PostgreSQL URL."""
    text = value.strip()
    if _scheme(text) is None:
        raise ValueError(f"not a PostgreSQL URL: it must start with postgresql://, e.g. {EXAMPLE}")
    url = "postgresql://" + text.partition("://")[2]
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ValueError(f"not a valid PostgreSQL URL: its host or port can't be read; e.g. {EXAMPLE}") from None
    return url


def _scheme(location: str) -> str | None:
    """The PostgreSQL scheme `location` starts with (any case, after spaces; `postgresql+DRIVER` too), else None."""
    scheme, separator, _ = location.strip().partition("://")
    base = scheme.lower().partition("+")[0]
    return base if separator and base in SCHEMES else None
