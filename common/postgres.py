"""Connecting to PostgreSQL, for the index's and the bot state's PostgreSQL modules alike: URLs with the password
redacted (what every message shows), connections and pools that fail with one clear line, and the advisory locks
that let processes on several machines take turns (each layer names its own lock keys)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool

from common.errors import DatabaseUnreachableError, StoreError

LOCK_POLL_SECONDS = 0.05
POOL_SIZE = 8  # connections a process keeps at most: the bot's threads searching and answering at once
POOL_TIMEOUT = 30.0  # seconds to wait for a free connection before failing
POOL_IDLE_SECONDS = 300.0  # an unused connection is closed after this long
# SQLSTATE classes of failures that may pass: connection exceptions, the server starting or stopping, resources.
PASSING_STATES = ("08", "57P", "53")


def redacted(url: str) -> str:
    """The URL with any password (in the address or as a `password=` parameter) replaced by ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user, has_password, password = credentials.partition(":")
        netloc = f"{user}:***@{host}" if has_password and password else f"{user}@{host}"
    query = urlencode(
        [(key, "***" if key == "password" else value) for key, value in parse_qsl(parts.query, keep_blank_values=True)],
        safe="/",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secret_free(message: str, url: str) -> str:
    """`message` with the URL's password taken out, should a driver's error repeat it."""
    password = urlsplit(url).password or dict(parse_qsl(urlsplit(url).query)).get("password")
    return message.replace(password, "***") if password else message


def unreachable(url: str, error: Exception) -> StoreError:
    """The one line for a database that can't be used; a DatabaseUnreachableError when the reason may pass (no
    answer, the server starting or out of connections), not when the server refused (a wrong password)."""
    reason = secret_free(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__, url)
    state = getattr(error, "sqlstate", None)
    passing = state is None or state.startswith(PASSING_STATES)
    return (DatabaseUnreachableError if passing else StoreError)(
        f"can't use the database at {redacted(url)} ({reason}); check DATABASE_URL and that the server is up"
    )


def connect(url: str, **options: Any) -> psycopg.Connection[tuple[Any, ...]]:
    try:
        return psycopg.connect(url, connect_timeout=10, **options)
    except psycopg.Error as error:
        raise unreachable(url, error) from None


def pool(url: str, name: str, configure: Callable[[psycopg.Connection], None] | None = None) -> ConnectionPool:
    """A pool of connections: opened when needed, closed after a while unused, checked before each use (so a
    restarted server is survived)."""
    return ConnectionPool(
        url,
        min_size=0,
        max_size=POOL_SIZE,
        max_idle=POOL_IDLE_SECONDS,
        num_workers=1,
        timeout=POOL_TIMEOUT,
        name=name,
        kwargs={"connect_timeout": 10},
        configure=configure,
        check=ConnectionPool.check_connection,
        open=True,
    )


def one(connection: psycopg.Connection[Any], query: str, params: Sequence[object] = ()) -> tuple[Any, ...]:
    """The one row `query` always returns (counts, a row that must exist)."""
    row = connection.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"no row from {query}")
    return tuple(row)


def scalar(connection: psycopg.Connection[Any], query: str, params: Sequence[object] = ()) -> Any:
    """The first column of the one row `query` returns (a count, a setting)."""
    return one(connection, query, params)[0]


def try_lock(connection: psycopg.Connection[Any], key: int, wait: float) -> bool:
    """Takes the session-level advisory lock `key`, waiting up to `wait` seconds; False when it stayed taken."""
    deadline = time.monotonic() + wait
    while True:
        if scalar(connection, "SELECT pg_try_advisory_lock(%s)", (key,)):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(LOCK_POLL_SECONDS)
