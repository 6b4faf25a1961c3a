"""The layers contract and the library places hold on the real import graph, and fail when they are broken:
an upward import planted in a copy of the tree (inside a function, or under TYPE_CHECKING), a library imported
outside its place, a module imported behind the graph's back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("newsbot", "bot", "evaluation", "wiring", "briefings", "feeds", "state", "answers", "index", "prompts", "common")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def check(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` and scripts/check_layers.py on the tree at `root`, as `make lint` runs them."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    contract = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )
    places = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_layers.py"), str(root)],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )
    return subprocess.CompletedProcess(
        [], contract.returncode or places.returncode, contract.stdout + places.stdout, contract.stderr + places.stderr
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the project's packages and pyproject.toml."""
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def plant(tree: Path, module: str, code: str) -> None:
    path = tree / module
    path.write_text(path.read_text() + "\n\n" + code + "\n")


def test_the_real_tree_keeps_every_contract():
    result = check(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    "planted",
    [
        "def _planted():\n    import bot.render  # noqa: F401",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.services import Services  # noqa: F401",
    ],
    ids=["inside a function", "under TYPE_CHECKING"],
)
def test_an_import_from_the_index_up_to_the_bot_fails_the_check(tree, planted):
    assert check(tree).returncode == 0
    plant(tree, "index/store.py", planted)
    result = check(tree)
    assert result.returncode != 0 and "BROKEN" in result.stdout
    assert "index.store -> bot." in result.stdout


def test_a_cycle_between_siblings_fails_the_check(tree):
    plant(tree, "briefings/types.py", "def _planted():\n    import feeds.polling  # noqa: F401")
    result = check(tree)
    assert result.returncode != 0 and "briefings" in result.stdout and "feeds" in result.stdout


@pytest.mark.parametrize(
    ("plants", "reported"),
    [
        (
            {"answers/retrieve.py": "import faiss", "index/types.py": "import telegram"},
            [
                "answers.retrieve imports faiss, which belongs in index.sqlite only",
                "index.types imports telegram, which belongs in bot only",
            ],
        ),
        (
            {
                "index/types.py": 'import importlib\n    return importlib.import_module("bot.app")',
                "answers/prompts.py": 'from importlib import resources\n    return resources.files("bot")',
            },
            ["index.types calls import_module()", "answers.prompts reaches into the package bot with files()"],
        ),
    ],
    ids=["a library outside its place", "a project module imported behind the graph's back"],
)
def test_a_breach_of_the_libraries_places_fails_the_check(tree, plants, reported):
    for module, code in plants.items():
        plant(tree, module, f"def _planted():\n    {code}  # noqa: F401")
    result = check(tree)
    assert result.returncode != 0
    for line in reported:
        assert line in result.stdout
