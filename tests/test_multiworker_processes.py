"""Nothing happens twice with several real processes on one PostgreSQL: two `newsbot run` workers in webhook
mode behind one public URL (the Bot API emulator's load balancer spreads the updates over them), and a writer,
`newsbot index add`, adding articles while the bot answers. A follow-up answered by the other worker keeps its
context, the per-user limit holds across the workers, a briefing due at start is posted once, a feed's new
entries are fetched, indexed and reported once, and the workers share Telegram's budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.bot_harness import bot_settings
from tests.conftest import REPO
from tests.helpers import on_postgres, wire
from tests.http_server import listening
from tests.llm_server import free_port
from tests.newsroom import FERRIES, FERRY_CREWS, MARKET, gazette_story, rss, write_jsonl

ADMIN_ID = 4242
PUBLIC_URL = "https://newsbot.example/telegram"  # where Telegram posts; the balancer forwards to the workers
LIMIT = 3  # questions a minute per user
TIMEOUT = 120.0  # generous: two workers, a writer and PostgreSQL share two loaded cores
REFUSAL = f"You're asking faster than I can keep up: at most {LIMIT} a minute."


@pytest.mark.slow
def test_two_webhook_workers_and_a_writer_do_nothing_twice(
    emu, sample_index, copy_of, database_url, page_server, tmp_path
):
    settings = on_postgres(bot_settings(emu, copy_of(sample_index), tmp_path, admin_ids=[ADMIN_ID]), database_url)
    channel = emu.channel("Ellery News", username="ellerynews")
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    admin_chat = emu.private_chat(admin)  # where the feed reports go
    stories = [gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)]
    gazette = page_server.add("/feed.xml", rss("Ellery Gazette", stories), content_type="application/rss+xml")
    broken = page_server.add("/broken.xml", "oops", status=500, content_type="text/plain")
    before = wire(settings)  # what an admin set up earlier: a feed, a failing feed, a briefing due a minute ago
    before.feed_subscriptions.add(gazette, "Ellery Gazette", datetime.now(UTC))
    before.feed_subscriptions.add(broken, "Broken", datetime.now(UTC))
    due = datetime.now(UTC) - timedelta(minutes=1)
    before.schedules.add(channel.id, "Ellery News", "daily", f"{due:%H:%M}", "", ADMIN_ID, due - timedelta(hours=1))

    ports = [free_port(), free_port()]
    backends = [f"http://127.0.0.1:{port}/telegram" for port in ports]
    emu.webhook_backends(backends, policy=alternating_per_chat())
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    workers = [start_worker(emu, database_url, port, log, tmp_path) for port, log in zip(ports, logs, strict=True)]
    writer = None
    try:
        emu.wait_until(
            lambda: len([c for c in emu.api_calls("setWebhook") if c.status == 200]) == 2 or exited(workers),
            TIMEOUT,
            lambda: f"both workers to register the webhook; {tails(logs)}",
        )
        assert not exited(workers), tails(logs)
        for port in ports:
            listening(port, TIMEOUT)
        ferry = write_jsonl([FERRY_CREWS], tmp_path / "ferry.jsonl")
        writer = run_newsbot(["index", "add", str(ferry)], database_url, tmp_path)  # while the bot answers

        # a follow-up on the other worker keeps its context (the turns are in the shared state)
        alice = emu.user("Alice", "alice")
        alice_chat = emu.private_chat(alice)
        first = emu.send(alice_chat, alice, "How many North Korean troops were sent to Russia?")
        emu.wait_for_messages(alice_chat, 1, TIMEOUT)
        follow_up = emu.send(alice_chat, alice, "And how many did Zelenskyy claim?")
        (_, answer) = emu.wait_for_messages(alice_chat, 2, TIMEOUT)
        assert "10,000" in answer.text
        assert backend_of(emu, first) != backend_of(emu, follow_up)

        # the per-user limit holds across the workers: four questions at once, two to each, three answered
        while time.time() % 60 > 50:  # all four in one minute's window (counting starts anew each minute)
            time.sleep(0.5)
        bob = emu.user("Bob", "bob")
        bob_chat = emu.private_chat(bob)
        asked = [emu.send(bob_chat, bob, f"Who denied the deployment? ({n})") for n in range(4)]
        replies = emu.wait_for_messages(bob_chat, 4, TIMEOUT)
        assert sorted(reply.text.startswith(REFUSAL) for reply in replies) == [False, False, False, True]
        assert Counter(backend_of(emu, message) for message in asked) == Counter({backends[0]: 2, backends[1]: 2})

        # the writer's articles are there for every worker once it has committed
        out, err = writer.communicate(timeout=TIMEOUT)
        assert writer.returncode == 0 and "added 1" in out, err
        carol = emu.user("Carol", "carol")
        carol_chat = emu.private_chat(carol)
        emu.send(carol_chat, carol, "How many extra crew members did the Ellery ferry operators hire?")
        (crews,) = emu.wait_for_messages(carol_chat, 1, TIMEOUT)
        assert "forty extra crew members" in crews.text

        # the briefing due at start: both workers tried it, one posted it
        eventually(lambda: all("scheduled briefing #1" in log.read_text() for log in logs), lambda: tails(logs))
        (briefing,) = emu.messages(channel)
        assert briefing.text.startswith("Briefing — ")

        # the feeds: both workers poll them every few seconds; each entry is indexed and reported once
        eventually(lambda: all(log.read_text().count("feed poll:") >= 3 for log in logs), lambda: tails(logs))
        reports = [m.text for m in emu.messages(admin_chat) if m.text.startswith("Feeds:")]
        # a new entry, and an admin's /feed poll on each worker at once: both read the feed, one takes the entry
        stories.append(gazette_story(page_server, *TOLLS))
        page_server.add("/feed.xml", rss("Ellery Gazette", stories), content_type="application/rss+xml")
        polls = [emu.send(admin_chat, admin, "/feed poll") for _ in range(2)]
        emu.wait_until(
            lambda: (
                len(answers_to(emu.messages(admin_chat), polls[-1])) == 2
                and any(TOLLS[1] in m.text for m in emu.messages(admin_chat))
            ),
            TIMEOUT,
            lambda: f"the replies to /feed poll; {tails(logs)}",
        )
        assert backend_of(emu, polls[0]) != backend_of(emu, polls[1])
        tolls = [m.text for m in emu.messages(admin_chat) if TOLLS[1] in m.text]
        emu.send(admin_chat, admin, "/stats")
        emu.wait_until(lambda: any(m.text.startswith("Articles:") for m in emu.messages(admin_chat)), TIMEOUT)
        stats = next(m.text for m in emu.messages(admin_chat) if m.text.startswith("Articles:"))
    finally:
        for process in workers:
            stop(process)
        if writer is not None and writer.poll() is None:
            writer.kill()
    (report,) = reports  # the broken feed fails on, but is reported once
    assert [line for line in report.split("\n") if line.startswith("• ")][:2] == [
        f"• added: {FERRIES[1]} (Ellery Gazette)",
        f"• added: {MARKET[1]} (Ellery Gazette)",
    ]
    assert "• feed 2 (Broken) failed: " in report
    assert len(tolls) == 1 and f"added: {TOLLS[1]} (Ellery Gazette)" in tolls[0]  # in a reply or a report
    assert [page_server.requests.count(f"/news/{slug}") for slug in ("ferries", "market", "tolls")] == [1, 1, 1]
    titles = [article.title for article in before.store.articles()]
    assert Counter(titles)[FERRIES[1]] == 1 and Counter(titles)[FERRY_CREWS["title"]] == 1
    assert len(emu.messages(channel)) == 1
    assert "Articles: 5\n" in stats and "\nWorkers: 2 (" in stats

    # Telegram's budget: each worker kept to half, and both signed off when they stopped
    for log in logs:
        assert "2 workers send for the bot: this one keeps to 15.0 messages a second" in log.read_text()
        assert "Traceback" not in log.read_text()
    assert [process.returncode for process in workers] == [0, 0]
    assert before.workers.live(time.time()) == []
    delivered = {delivery.url for delivery in emu.deliveries() if delivery.ok}
    assert delivered == set(backends)


TOLLS = (
    "tolls",
    "Ellery harbour tolls rise by a tenth",
    ["The port authority raised harbour tolls by ten percent on Thursday to pay for repairs to the quays."],
)


def answers_to(messages: list, command: dict) -> list:
    """The bot's messages after `command` that answer an admin's command (not a feed report)."""
    return [m for m in messages if m.message_id > command["message_id"] and not m.text.startswith("Feeds:")]


def alternating_per_chat() -> Callable[[dict, list[str]], str]:
    """A balancing policy: each chat's updates go to the backends in turn, so a chat's next message goes to
    another worker than its last."""
    turns: Counter = Counter()

    def choose(update: dict, backends: list[str]) -> str:
        payload = next(value for key, value in update.items() if key != "update_id")
        chat = (payload.get("chat") or payload.get("from") or {}).get("id")
        turns[chat] += 1
        return backends[(turns[chat] - 1) % len(backends)]

    return choose


def backend_of(emu, message: dict) -> str:
    """The backend that took the update carrying `message`."""
    (url,) = {
        delivery.url
        for delivery in emu.deliveries()
        if delivery.ok
        and delivery.update.get("message", {}).get("message_id") == message["message_id"]
        and delivery.update["message"]["chat"]["id"] == message["chat"]["id"]
    }
    return url


def environment(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        **{name: value for name, value in os.environ.items() if name not in ("WEBHOOK_SECRET", "INDEX_DIR")},
        "DATABASE_URL": database_url,  # in the environment: on a command line `ps` would show its password
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "UPLOADS_DIR": str(tmp_path / "uploads"),
        **settings,
    }


def start_worker(emu, database_url: str, port: int, log: Path, tmp_path: Path) -> subprocess.Popen:
    env = environment(
        database_url,
        tmp_path,
        TELEGRAM_BOT_TOKEN=emu.token,
        TELEGRAM_BASE_URL=emu.base_url,
        TELEGRAM_BASE_FILE_URL=emu.base_file_url,
        WEBHOOK_URL=PUBLIC_URL,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        ADMIN_IDS=str(ADMIN_ID),
        QUESTIONS_PER_MINUTE=str(LIMIT),
        FEED_POLL_MINUTES="0.1",  # every 6 seconds, the first time 6 seconds after start
        ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",  # the test's page server
    )
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "newsbot.cli", "run"], cwd=tmp_path, env=env, stdout=output, stderr=output
        )


def run_newsbot(args: list[str], database_url: str, tmp_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "newsbot.cli", *args]
    env = environment(database_url, tmp_path)
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def exited(processes: list[subprocess.Popen]) -> bool:
    return any(process.poll() is not None for process in processes)


def tails(logs: list[Path]) -> str:
    return " | ".join(f"{log.name}: {log.read_text()[-1500:]}" for log in logs if log.exists())


def eventually(condition: Callable[[], bool], what: Callable[[], str], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; {what()}"
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
