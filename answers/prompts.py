"""Prompt templates, read from the prompts/ directory (PROMPTS_DIR)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from index.errors import NewsbotError


@cache
def load(directory: Path, name: str) -> str:
    path = directory / f"{name}.txt"
    if not path.exists():
        raise NewsbotError(f"prompt template {path} is missing; PROMPTS_DIR must point to newsbot's prompts/ directory")
    return path.read_text(encoding="utf-8")


def render(directory: Path, name: str, **values: object) -> str:
    return load(directory, name).format(**values)
