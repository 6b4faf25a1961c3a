"""`newsbot run` as a real process against the Bot API emulator: a rejected token is one line that never shows
the token, a damaged index is one line naming the file, and in webhook mode updates without the secret token
are refused (403) even when WEBHOOK_SECRET is not set."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
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


class Forwarder:
    """From the moment it is started, what connects to 127.0.0.1:`port` is connected to `target` (the Bot API
    appearing at the address the bot was given); before, nothing listens there (connection refused)."""

    def __init__(self, port: int, target: int):
        self.port, self.target = port, target
        self.server: socket.socket | None = None

    def start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


OUTAGE_SECONDS = 60


@pytest.mark.slow
@pytest.mark.timeout(OUTAGE_SECONDS + 300)  # the outage, then the wait for the answer
def test_a_bot_started_while_the_bot_api_is_down_answers_once_it_is_up_60_seconds_later(
    emu, sample_index, copy_of, tmp_path
):
    """Issue 17: `newsbot run` started while nothing answers where TELEGRAM_BASE_URL points (a machine booting, a
    network outage) does not stop: it tries again with growing waits, one warning line each, and answers once
    the Bot API is there, a minute later."""
    settings, port = copy_of(sample_index), free_port()
    forwarder = Forwarder(port, int(emu.base_url.split(":")[2].split("/")[0]))
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    emu.send(chat, alice, QUESTION)
    process = newsbot_run(
        settings, tmp_path, TELEGRAM_BOT_TOKEN=emu.token, TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}/bot"
    )
    outage = threading.Timer(OUTAGE_SECONDS, forwarder.start)  # the outage's length is the case, not a wait
    outage.start()
    try:
        emu.wait_until(
            lambda: process.poll() is not None or emu.messages(chat) != [],
            timeout=OUTAGE_SECONDS + 180,
            description="the bot's answer once the Bot API is up",
        )
        assert process.poll() is None, process.communicate()
    finally:
        outage.cancel()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        forwarder.close()
    (reply,) = emu.messages(chat)
    assert reply.text.startswith("North Korea and Russia. Both North Korea and Russia have denied")
    retries = [line for line in err.splitlines() if "can't reach the Telegram Bot API" in line]
    assert len(retries) >= 3 and all("trying again in" in line for line in retries), err
    assert "Traceback" not in err


def test_ctrl_c_while_the_bot_waits_for_the_bot_api_stops_it_at_once(emu, sample_index, copy_of, tmp_path):
    """Ctrl-C while `newsbot run` starts (here: waiting to try the unreachable Bot API again) stops it between two
    steps of the start: within seconds, one line, no traceback. (Raised wherever it fell, KeyboardInterrupt could
    stop an import while the preparing thread imports too, and the process then hung.)"""
    process = newsbot_run(
        copy_of(sample_index), tmp_path, TELEGRAM_BOT_TOKEN=emu.token, TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot"
    )
    waiting = []
    while not [line for line in waiting if "trying again in" in line]:
        line = process.stderr.readline()
        assert line, process.communicate()
        waiting.append(line)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted")


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
    assert reply.text.startswith("North Korea and Russia. Both North Korea and Russia have denied")
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
