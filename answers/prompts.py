"""Prompt templates: the text files of the `prompts` package, or of PROMPTS_DIR when that is set."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import prompts
from common.errors import SettingsError


@cache
def load(directory: Path | None, name: str) -> str:
    path = directory / f"{name}.txt" if directory else prompts.folder().joinpath(f"{name}.txt")
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise SettingsError(
            f"prompt template {name}.txt is missing from {directory or 'the prompts package'}; PROMPTS_DIR must "
            "point to a folder holding newsbot's prompts/ files"
        ) from None


def render(directory: Path | None, name: str, **values: object) -> str:
    return load(directory, name).format(**values)
