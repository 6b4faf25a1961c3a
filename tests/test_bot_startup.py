"""`newsbot run` as a real process against the Bot API emulator: a rejected token is one line that never shows
the token, a damaged index is one line naming the file, and in webhook mode updates without the secret token
are refused (403) even when WEBHOOK_SECRET is not set."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.http_server import listening
from tests.telegram_emulator import SECRET_TOKEN_HEADER

QUESTION = "who denied the deployment?"
WRONG_TOKEN = "123:ABC"


def newsbot_run(settings, tmp_path: Path, **env: str) -> subprocess.Popen:
    """`newsbot run` in `tmp_path` (no .env there) on the test's index and state, with the model cache the
    install prepared (the per-user one, or MODEL_CACHE_DIR's): no ONNX export, about 15 s, in the test."""
    environment = {
        **os.environ,
        "INDEX_DIR": str(settings.index_dir),
        "BOT_STATE_PATH": str(tmp_path / "bot.sqlite"),
        "UPLOADS_DIR": str(tmp_path / "uploads"),
        "PYTHONPATH": str(REPO),
        **env,
    }
    command = [sys.executable, "-m", "newsbot.cli", "run"]
    return subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def files_holding(root: Path, secret: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and secret.encode() in path.read_bytes()]


def test_a_rejected_token_is_one_line_that_never_shows_it(emu, sample_index, copy_of, tmp_path):
    settings = copy_of(sample_index)
    process = newsbot_run(settings, tmp_path, TELEGRAM_BOT_TOKEN=WRONG_TOKEN, TELEGRAM_BASE_URL=emu.base_url)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert WRONG_TOKEN not in out + err and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: Telegram rejected TELEGRAM_BOT_TOKEN") and "@BotFather" in last
    assert files_holding(tmp_path, WRONG_TOKEN) == [] and files_holding(settings.index_dir, WRONG_TOKEN) == []


def test_a_damaged_index_stops_the_bot_with_one_line_naming_it(emu, sample_index, copy_of, tmp_path):
    settings = copy_of(sample_index)
    (settings.index_dir / "index.sqlite").write_bytes(b"GARBAGE!" * 2048)
    for leftover in ("index.sqlite-wal", "index.sqlite-shm"):
        (settings.index_dir / leftover).unlink(missing_ok=True)
    process = newsbot_run(settings, tmp_path, TELEGRAM_BOT_TOKEN=emu.token, TELEGRAM_BASE_URL=emu.base_url)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: {settings.index_dir / 'index.sqlite'} is damaged (")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, update: dict, secret: str | None) -> int:
    headers = {"Content-Type": "application/json", **({SECRET_TOKEN_HEADER: secret} if secret is not None else {})}
    request = urllib.request.Request(url, json.dumps(update).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def webhook_bot(emu, sample_index, copy_of, tmp_path):
    settings, port = copy_of(sample_index), free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    process = newsbot_run(
        settings,
        tmp_path,
        TELEGRAM_BOT_TOKEN=emu.token,
        TELEGRAM_BASE_URL=emu.base_url,
        WEBHOOK_URL=url,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    try:
        emu.wait_until(
            lambda: process.poll() is not None or any(call.status == 200 for call in emu.api_calls("setWebhook")),
            timeout=120,
        )
        assert process.poll() is None, process.communicate()
        listening(port)
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_without_webhook_secret_updates_lacking_the_secret_are_refused(emu, webhook_bot, tmp_path):
    url, process = webhook_bot
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    forged = {
        "update_id": 999,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": alice.id, "type": "private", "first_name": "Alice"},
            "from": {"id": alice.id, "is_bot": False, "first_name": "Alice"},
            "text": QUESTION,
        },
    }
    assert post(url, forged, None) == 403
    assert post(url, forged, "guessed-secret") == 403
    emu.send(chat, alice, QUESTION)  # Telegram (the emulator) sends the registered secret
    (reply,) = emu.wait_for_messages(chat, 1, timeout=60)
    assert reply.text.startswith("Both North Korea and Russia have denied")
    time.sleep(0.5)
    assert len(emu.messages(chat)) == 1  # the forged updates were not answered
    secret = _registered_secret(tmp_path)
    assert len(secret) >= 32
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert secret not in out + err


def _registered_secret(tmp_path: Path) -> str:
    import sqlite3

    with sqlite3.connect(tmp_path / "bot.sqlite") as db:
        return db.execute("SELECT value FROM installation_secrets WHERE name = 'webhook'").fetchone()[0]
