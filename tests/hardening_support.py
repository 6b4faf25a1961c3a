"""What the issue-18 hardening tests share: real `newsbot` processes on this checkout, and what a user sees of
them (one line, no traceback, no password)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from wiring.settings import Settings

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "S3cret-pw-1842"  # in every hostile DATABASE_URL: it must never show, nor name a file

# An exception's class name in what a user sees (OverflowError, IsADirectoryError, ValueError, KeyError ...).
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(?:Error|Exception)\b")


def environment(directory: Path, **env: str) -> dict[str, str]:
    """The environment of a `newsbot` process: this checkout's code, the index and bot state in `directory`,
    and no setting inherited from the shell running the tests."""
    settings = {name.upper() for name in Settings.model_fields}
    inherited = {name: value for name, value in os.environ.items() if name.upper() not in settings}
    return {
        **inherited,
        "PYTHONPATH": str(REPO),
        "INDEX_DIR": str(directory / "index"),
        "BOT_STATE_PATH": str(directory / "bot.sqlite"),
        "UPLOADS_DIR": str(directory / "uploads"),
        **env,
    }


def newsbot_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsbot.cli", *args]


def newsbot(*args: str, cwd: Path, timeout: float = 180, stdin: str | None = None, **env: str):
    """`newsbot ARGS` as a real process in `cwd` (no .env there) -> CompletedProcess (text)."""
    return subprocess.run(
        newsbot_command(*args),
        cwd=cwd,
        env=environment(cwd, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text and not EXCEPTION_NAME.search(text), text


def assert_one_line(text: str, *names: str) -> str:
    """`text` is one line (blank lines aside), without a traceback or an exception's name, naming `names`."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}: {text!r}"
    assert_no_traceback(text)
    for name in names:
        assert name in lines[0], f"{name!r} not in {lines[0]!r}"
    return lines[0]


def write_jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path
