"""A real PostgreSQL 16 with pgvector for the tests: the server the PyPI package pgserver ships, started in a
temporary folder (a second or two) and deleted afterwards. Each test gets a database of its own, created
from a template that already has the vector extension."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import psycopg

TEMPLATE = "newsbot_template"
PASSWORD = "s3cret-Pa55"  # in every test URL: no message may show it


class LocalPostgres:
    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
        self._numbers = itertools.count(1)
        self.server = None

    def __enter__(self) -> LocalPostgres:
        import pgserver

        self.server = pgserver.get_server(self.folder / "data", cleanup_mode="delete")
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {TEMPLATE}")
        with psycopg.connect(self.url(TEMPLATE), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION vector")
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str, password: str = "") -> str:
        """The URL of `database`, with a password in it when given (the server trusts local connections, so any
        password is accepted: tests check that it never shows)."""
        url = self.server.get_uri(database)
        return url.replace("postgres:@", f"postgres:{password}@") if password else url

    def new_database(self, password: str = PASSWORD) -> str:
        name = f"test_{next(self._numbers)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name, password)

    def drop(self, url: str) -> None:
        name = url.split("/")[3].split("?")[0]
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def version(self) -> tuple[str, str]:
        """(PostgreSQL version, pgvector version)."""
        with psycopg.connect(self.url(TEMPLATE)) as connection:
            server = connection.execute("SHOW server_version").fetchone()[0]
            vector = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        return server, vector


if __name__ == "__main__":  # a check that the bundled server starts on this machine
    with LocalPostgres() as postgres:
        print("PostgreSQL {} with pgvector {}".format(*postgres.version()))
