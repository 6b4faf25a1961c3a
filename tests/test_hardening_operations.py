"""Issue 18, running and deploying the bot: /healthz (12), `make run` and the sample article (18), the terminal
chat's line editing, history and Ctrl-C (19), and the small things of 20: the terminal /reset count, `feed list`
with no feeds, "its 1 entries", `make eval` / `make bench` without the evaluation data or the bench extra."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.app import build_application
from bot.webhook import serve_webhook, webhook_server
from tests.hardening_support import (
    REPO,
    assert_no_traceback,
    assert_one_line,
    environment,
    newsbot,
    newsbot_command,
    write_jsonl,
)
from tests.llm_server import free_port
from tests.newsroom import FERRIES, gazette_story, rss

QUESTION = "who denied the deployment?"
ANSWER = "Both North Korea and Russia have denied"

# -- 12: /healthz ---------------------------------------------------------------------------------------------------


@asynccontextmanager
async def webhook_bot(emu, wiring):
    """The bot in webhook mode, in this process: yields its /healthz URL once it serves."""
    application = build_application(wiring)
    server = webhook_server(application, "s3cret-token")
    serving = asyncio.create_task(serve_webhook(application, server, "s3cret-token"))
    try:
        await emu.wait_until_async(lambda: server.started or serving.done(), timeout=60, description="the webhook")
        assert not serving.done(), serving
        yield f"http://127.0.0.1:{wiring.settings.webhook_port}/healthz"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 60)


def webhook_settings() -> dict:
    port = free_port()
    return {
        "webhook_url": f"http://127.0.0.1:{port}/telegram",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_secret": "s3cret-token",
    }


def reason(check: str) -> str:
    """What a failed check says beyond its "error" label."""
    return check.removeprefix("error").strip(" :")


async def test_healthz_with_telegram_down_answers_within_2_seconds_with_the_reason(emu, sample_bot):
    """Issue 18, item 12: with the Bot API gone (connection refused), GET /healthz answers 503 within 2 s (not
    after the full 5 s) and says why Telegram is unreachable (not `"error: "`)."""
    async with webhook_bot(emu, sample_bot(**webhook_settings())) as health:
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(health)).status_code == 200
            emu.stop()  # the Bot API goes away
            started = time.monotonic()
            unhealthy = await client.get(health)
            seconds = time.monotonic() - started
    body = unhealthy.json()
    assert unhealthy.status_code == 503 and body["ok"] is False and body["index"] == "ok", body
    assert (reason(body["telegram"]) != "", seconds < 2.0) == (True, True), f"{body} after {seconds:.1f} s"


async def test_healthz_reads_the_index_and_reports_a_damaged_header(emu, sample_bot):
    """Issue 18, item 12: `index.sqlite`'s header overwritten under the running bot: /healthz really reads the
    index and answers 503 with the reason, instead of "index": "ok"."""
    wiring = sample_bot(**webhook_settings())
    path = wiring.settings.index_dir / "index.sqlite"
    async with webhook_bot(emu, wiring) as health:
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(health)).status_code == 200
            with path.open("r+b") as handle:  # SQLite's 100-byte header: magic string, page size, ...
                handle.write(b"GARBAGE!" * 12)
                handle.flush()
                os.fsync(handle.fileno())
            unhealthy = await client.get(health)
    body = unhealthy.json()
    assert unhealthy.status_code == 503 and body["ok"] is False, body
    assert body["index"] != "ok" and reason(body["index"]) != "", body


# -- 18: `make run` and the sample article ----------------------------------------------------------------------------


def fake_venv(directory: Path) -> Path:
    """A VENV for `make run` whose newsbot is this checkout (the real venv is elsewhere), marked installed."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "newsbot").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m newsbot.cli "$@"\n')
    (bin_dir / "newsbot").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    (directory / ".installed").touch()  # newer than pyproject.toml and scripts/install.sh: nothing to install
    return directory


def make_run(emu, chat, user, venv: Path, tmp_path: Path) -> str:
    """`make run` until the bot it starts answers a /start, then Ctrl-C; returns what it printed."""
    env = environment(
        tmp_path,
        TELEGRAM_BOT_TOKEN=emu.token,
        TELEGRAM_BASE_URL=emu.base_url,
        TELEGRAM_BASE_FILE_URL=emu.base_file_url,
    )
    replies = len(emu.messages(chat))
    log = tmp_path / f"make-run-{replies}.log"
    emu.send(chat, user, "/start")  # answered once the bot polls: after everything `make run` does before
    with log.open("w") as output:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(REPO), "run", f"VENV={venv}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        emu.wait_until(
            lambda: process.poll() is not None or len(emu.messages(chat)) > replies,
            timeout=180,
            description=lambda: f"the bot `make run` starts to answer; it printed: {log.read_text()[-2000:]}",
        )
        assert process.poll() is None, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return log.read_text()


def articles(index_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(index_dir / "index.sqlite") as db:
        return db.execute("SELECT id, title FROM articles ORDER BY title").fetchall()


@pytest.mark.slow
def test_make_run_adds_the_sample_article_only_to_a_new_empty_index(emu, tmp_path):
    """Issue 18, item 18: `make run` adds the sample article to a new, empty index (and says so), and never
    again: an admin who removed it does not get it back at the next start, nor does an index of other
    articles get it."""
    venv = fake_venv(tmp_path / "venv")
    index_dir = tmp_path / "index"
    rae = emu.user("Rae", "rae")
    chat = emu.private_chat(rae)
    first = make_run(emu, chat, rae, venv, tmp_path)
    ((sample_id, _),) = articles(index_dir)
    assert "added 1" in first or "sample" in first.lower(), first  # it says so
    removed = newsbot("index", "remove", sample_id, cwd=tmp_path)
    assert removed.returncode == 0 and articles(index_dir) == [], removed.stderr
    second = make_run(emu, chat, rae, venv, tmp_path)
    assert articles(index_dir) == [], f"the sample came back; `make run` printed: {second}"
    write_jsonl(tmp_path / "own.jsonl", {"title": "Harbour reopens", "text": "The harbour reopened on Monday."})
    assert newsbot("index", "add", "own.jsonl", cwd=tmp_path).returncode == 0
    third = make_run(emu, chat, rae, venv, tmp_path)
    assert [title for _, title in articles(index_dir)] == ["Harbour reopens"], third


# -- 19: the terminal chat ---------------------------------------------------------------------------------------------


class Terminal:
    """`newsbot chat` on a pseudo-terminal (its controlling terminal: Ctrl-C there is SIGINT), as a person runs it."""

    def __init__(self, index_dir: Path, tmp_path: Path):
        env = environment(tmp_path, INDEX_DIR=str(index_dir), TERM="xterm")
        command = newsbot_command("chat")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: exec at once
            os.chdir(tmp_path)
            os.execve(command[0], command, env)
        self.output = b""
        self.closed = False  # the child closed the terminal (it exited)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def _pump(self, wait: float) -> None:
        """Reads what the chat printed within `wait` seconds."""
        if not self.closed and select.select([self.fd], [], [], wait)[0]:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: no process has the terminal open any more
                chunk = b""
            self.output += chunk
            self.closed = not chunk

    def read_until(self, done, timeout: float, what: str) -> str:
        """Reads what the chat prints until `done(text)` holds; fails after `timeout` seconds or if it exits."""
        deadline = time.monotonic() + timeout
        while not done(self.text):
            assert not self.closed, f"the chat exited while waiting for {what}; it showed: {self.text[-1500:]!r}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}; it shows: {self.text[-1500:]!r}"
            self._pump(0.2)
        return self.text

    def wait_exit(self, timeout: float) -> int:
        """The chat's exit code, once it has exited (at most `timeout` seconds), with all it printed read."""
        deadline = time.monotonic() + timeout
        while (waited := os.waitpid(self.pid, os.WNOHANG)) == (0, 0):
            assert time.monotonic() < deadline, f"the chat did not exit; it shows: {self.text[-1500:]!r}"
            self._pump(0.1)
        self.pid = 0
        while not self.closed:
            self._pump(0.5)
        return os.waitstatus_to_exitcode(waited[1])

    def close(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal(sample_index, copy_of, tmp_path):
    opened = []

    def start() -> Terminal:
        opened.append(Terminal(copy_of(sample_index).index_dir, tmp_path))
        return opened[-1]

    yield start
    for chat in opened:
        chat.close()


UP = "\x1b[A"


OTHER_QUESTION = "How many North Korean troops were sent to Russia?"
BOT = "bot> "  # printed once per answer (a prompt may be redrawn, an answer is not)
ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[=>()][0-9A-Za-z]?)")


def answers_then_prompt(count: int):
    """`count` answers shown, and the prompt after the last: the chat waits for the next line."""
    return lambda text: text.count(BOT) >= count and "you> " in text.rsplit(BOT, 1)[1]


def test_the_terminal_chat_recalls_earlier_questions_with_the_up_arrow(terminal):
    """Issue 18, item 19: the terminal chat reads lines with editing and history (readline or prompt-toolkit):
    after two questions, the up arrow twice then Enter asks the first again. Today the line is `^[[A^[[A`
    (which, having no subject, is even read as a follow-up of the second question)."""
    chat = terminal()
    chat.read_until(lambda text: "you> " in text, 180, "the first prompt")
    chat.type(QUESTION + "\r")
    chat.read_until(answers_then_prompt(1), 120, "the first answer and the next prompt")
    chat.type(OTHER_QUESTION + "\r")
    chat.read_until(answers_then_prompt(2), 120, "the second answer and the next prompt")
    assert chat.text.count(ANSWER) == 1, chat.text  # the second question has another answer
    chat.type(UP + UP + "\r")
    chat.read_until(answers_then_prompt(3), 120, "the third answer and the next prompt")
    recalled = chat.text.rsplit(BOT, 1)[1]
    assert ANSWER in recalled, chat.text.split(BOT)[-2][-300:] + BOT + recalled


def test_ctrl_c_in_the_terminal_chat_says_a_plain_goodbye(terminal):
    """Issue 18, item 19: Ctrl-C at the terminal chat's prompt ends it with a plain goodbye and exit code 0; no
    message about the index (nothing was being indexed), no traceback. On d62eb57 it prints "interrupted; the
    index is as it was ..." and exits 130, or (now and then) does not end at all: the SIGINT goes to one of the
    model's threads and input() is never interrupted. It must end every time, at once."""
    chat = terminal()
    chat.read_until(lambda text: "you> " in text, 180, "the first prompt")
    chat.type(QUESTION + "\r")
    chat.read_until(answers_then_prompt(1), 120, "the answer and the next prompt")
    before = len(chat.text)
    chat.type("\x03")  # Ctrl-C: the terminal sends SIGINT
    status = chat.wait_exit(30)
    after = ESCAPES.sub("", chat.text[before:]).replace("^C", "")
    lines = [line.strip() for line in after.splitlines() if line.strip()]
    assert_no_traceback(after)
    assert "KeyboardInterrupt" not in after and "index" not in after.lower(), after
    assert len(lines) == 1, after  # the goodbye
    assert status == 0, (status, after)


LOST_INTERRUPT = """
import ctypes, signal, threading
from newsbot.terminal import _Interrupts

with _Interrupts():
    try:
        # SIGINT lands in another thread while the main thread waits in C for a signal of its own (as readline's
        # wait for a key, entered just after the Ctrl-C): only a SIGINT sent to the main thread again wakes it
        threading.Timer(0.5, lambda: signal.pthread_kill(threading.get_ident(), signal.SIGINT)).start()
        ctypes.CDLL(None).pause()
    except KeyboardInterrupt:
        print("taken")
"""


def test_a_ctrl_c_the_main_thread_missed_is_sent_to_it_again():
    """Issue 18, item 19, seen once in a full run at load: the chat ignored a Ctrl-C that came while its prompt was
    drawn (CPython's readline acts on a signal only when its wait is interrupted). With any other context manager
    than `_Interrupts()` in LOST_INTERRUPT, the main thread waits for ever (tried: killed after 20 s)."""
    done = subprocess.run([sys.executable, "-c", LOST_INTERRUPT], capture_output=True, text=True, timeout=60)
    assert done.stdout == "taken\n", done


# -- 20: the small things ------------------------------------------------------------------------------------------------


def test_the_terminal_reset_after_15_questions_says_15_were_forgotten(sample_index, copy_of, tmp_path):
    """Issue 18, item 20: `/reset` in the terminal chat after 15 questions says what was forgotten (15), not
    how many it kept as context (6)."""
    index_dir = copy_of(sample_index).index_dir
    result = newsbot("chat", cwd=tmp_path, INDEX_DIR=str(index_dir), stdin=f"{QUESTION}\n" * 15 + "/reset\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(ANSWER) == 15, result.stdout
    lines = result.stdout.splitlines()
    last_answer = max(n for n, line in enumerate(lines) if ANSWER in line)
    answer_block = ("Note:", "Sources:", "1. ")  # the rest of the last answer; then comes the reply to /reset
    reset = next(
        line for line in lines[last_answer + 1 :] if line.strip() and not line.strip().startswith(answer_block)
    )
    assert "15" in reset and "6 earlier" not in reset, reset


def test_feed_list_with_no_feeds_says_so_in_one_line(tmp_path):
    """Issue 18, item 20: `newsbot feed list` with no feeds prints one line (it printed nothing)."""
    result = newsbot("feed", "list", cwd=tmp_path)
    assert result.returncode == 0
    assert_one_line(result.stdout)


def test_feed_add_counts_one_entry_in_the_singular(tmp_path, page_server):
    """Issue 18, item 20: `newsbot feed add` of a feed with one entry does not say "its 1 entries"."""
    ferries = gazette_story(page_server, *FERRIES)
    feed = page_server.add("/feed.xml", rss("Ellery Gazette", [ferries]), content_type="application/rss+xml")
    result = newsbot("feed", "add", feed, cwd=tmp_path, ALLOW_PRIVATE_NETWORKS="127.0.0.0/8")
    assert result.returncode == 0, result.stderr
    assert "subscribed" in result.stdout and "1 entries" not in result.stdout, result.stdout


def eval_dirs(tmp_path: Path, kind: str) -> Path:
    """EVAL_DIR without RealTime QA: an empty folder, or one whose realtimeqa/past_2022 holds nothing."""
    eval_dir = tmp_path / "eval"
    (eval_dir / "realtimeqa" / "past_2022" if kind == "empty-dataset" else eval_dir).mkdir(parents=True)
    return eval_dir


EVAL_ENTRY_POINTS = {
    "newsbot eval": lambda tmp: newsbot_command("eval", "--index-dir", str(tmp / "no-index")),
    "bench_index.py": lambda tmp: [sys.executable, str(REPO / "scripts/bench_index.py"), "--out", str(tmp / "b")],
    "bench_backends.py": lambda tmp: [sys.executable, str(REPO / "scripts/bench_backends.py"), "--out", str(tmp / "b")],
    "bench_workers.py": lambda tmp: [sys.executable, str(REPO / "scripts/bench_workers.py"), "--out", str(tmp / "b")],
    "bench_bot.py": lambda tmp: [
        *(sys.executable, str(REPO / "scripts/bench_bot.py"), "--index-dir", str(tmp / "index")),
        *("--out", str(tmp / "b" / "bot.json")),
    ],
}


@pytest.mark.parametrize("kind", ["no-dataset", "empty-dataset"])
@pytest.mark.parametrize("entry", EVAL_ENTRY_POINTS)
def test_eval_and_bench_without_the_evaluation_data_say_where_it_is_expected_in_one_line(
    sample_index, copy_of, tmp_path, entry, kind
):
    """Issue 18, item 20: what `make eval` and `make bench` run (`newsbot eval`, scripts/bench_*.py reading
    RealTime QA), with EVAL_DIR pointing to a folder without the data: one line naming where the data is
    expected, not a traceback (ZeroDivisionError, NewsbotError, CalledProcessError)."""
    eval_dir = eval_dirs(tmp_path, kind)
    index_dir = copy_of(sample_index).index_dir  # bench_bot.py needs an index before it reads the questions
    (tmp_path / "index").symlink_to(index_dir)
    result = subprocess.run(
        EVAL_ENTRY_POINTS[entry](tmp_path),
        cwd=tmp_path,
        env=environment(tmp_path, EVAL_DIR=str(eval_dir), INDEX_DIR=str(tmp_path / "no-index")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert_one_line(result.stdout + result.stderr, str(eval_dir))


def tiny_realtimeqa(eval_dir: Path) -> Path:
    """Two articles in RealTime QA's layout: enough data for the bench scripts to reach their pipelines."""
    gold = eval_dir / "realtimeqa" / "past_2022" / "gold"
    gold.mkdir(parents=True)
    results = [
        {
            "url": f"https://news.example/{n}",
            "title": f"Story {n}",
            "text": f"Report {n}. The harbour reopened.",
            "publish_date": "2022/01/0{n}",
        }
        for n in (1, 2)
    ]
    write_jsonl(gold / "20220107_gold.jsonl", {"search_result": results})
    return eval_dir


def without_bench_extra(directory: Path) -> Path:
    """A folder that, first on PYTHONPATH (of this process's children too), makes the bench extra's modules
    missing, as in an install without `.[bench]`: importing them raises ModuleNotFoundError."""
    for module in ("langchain_community", "langchain_huggingface", "langchain_text_splitters"):
        (directory / module).mkdir(parents=True)
        (directory / module / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n"
        )
    return directory


def test_the_bench_scripts_without_the_bench_extra_say_what_to_install(tmp_path):
    """Issue 18, item 20: the README's bench commands without the `bench` extra (`scripts/bench_index.py`, whose
    naive LangChain pipeline needs langchain_community): one line saying to install the extra, not
    ModuleNotFoundError."""
    eval_dir = tiny_realtimeqa(tmp_path / "eval")
    shim = without_bench_extra(tmp_path / "shim")
    command = [sys.executable, str(REPO / "scripts/bench_index.py"), "--only", "naive", "--out", str(tmp_path / "b")]
    env = environment(tmp_path, EVAL_DIR=str(eval_dir), PYTHONPATH=f"{shim}{os.pathsep}{REPO}")
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert_no_traceback(output)
    assert "ModuleNotFoundError" not in output
    lines = [line for line in output.splitlines() if "bench" in line and "install" in line]
    assert len(lines) == 1, output
