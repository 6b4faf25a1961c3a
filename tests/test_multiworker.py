"""Several workers on one state database and one index, in this process: each worker is the bot's own
Application on its own connections (as a process has), with its JobQueue running. A briefing slot is posted
once and a feed entry indexed and reported once however many workers run the job; Telegram's budget is divided
among the live workers; `newsbot index add` on another process waits for the writer and readers are never
held up. (tests/test_multiworker_processes.py runs the same with real `newsbot run` processes.)"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from bot.network import RetryingRateLimiter
from state.backends import open_database
from state.workers import Workers
from tests.bot_harness import bot_settings, running_worker
from tests.conftest import BACKENDS, REPO
from tests.helpers import Clock, on_postgres, wire
from tests.newsroom import FERRIES, FERRY_CREWS, MARKET, build_index, gazette_story, rss, write_jsonl

ADMIN_ID = 4242
NOW = datetime(2024, 11, 13, 6, 30, tzinfo=UTC)  # 07:30 in Berlin
RSS = "application/rss+xml"


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory, embedder):
    return build_index(tmp_path_factory.mktemp("newsroom"))


@pytest.fixture(params=BACKENDS)
def settings(request, emu, newsroom, copy_of, tmp_path):
    settings = bot_settings(emu, copy_of(newsroom), tmp_path, admin_ids=[ADMIN_ID], time_zone="Europe/Berlin")
    return on_postgres(settings, request.getfixturevalue("database_url")) if request.param == "postgresql" else settings


def daily_job(application, name: str):
    (found,) = [job for job in application.job_queue.get_jobs_by_name(name) if job.data.slot is None]
    return found


async def test_a_briefing_slot_is_posted_once_however_many_workers_run_it(emu, settings, caplog):
    caplog.set_level(logging.INFO, logger="newsbot.bot")
    clock = Clock(NOW)
    channel = emu.channel("Ellery News", username="ellerynews")
    # 07:00 in Berlin was half an hour ago, while no worker ran: both post it when they start, or find it posted
    schedule = wire(settings).schedules.add(
        channel.id, "Ellery News", "daily", "07:00", "", ADMIN_ID, NOW - timedelta(days=1)
    )
    first, second = wire(settings, clock), wire(settings, clock)
    async with running_worker(first) as one, running_worker(second) as two:
        await emu.wait_until_async(
            lambda: len(briefing_lines(caplog)) == 2, timeout=60, description="both workers' catch-up of 07:00"
        )
        (caught_up,) = emu.messages(channel)
        clock.advance(days=1)  # the next day's 07:00: both workers' daily jobs fire at once
        await asyncio.gather(daily_job(one, "briefing:1").run(one), daily_job(two, "briefing:1").run(two))
        assert len(emu.messages(channel)) == 2
    runs = first.schedules.runs(schedule.id)
    assert caught_up.text.startswith("Briefing — 13 Nov 2024\n\n")
    assert emu.messages(channel)[1].text == "Briefing — 14 Nov 2024: nothing new since the last briefing."
    assert [(run.slot, run.outcome, run.attempts) for run in runs] == [
        ("2024-11-13T06:00:00+00:00", "posted", 1),
        ("2024-11-14T06:00:00+00:00", "posted", 1),
    ]
    assert {run.worker for run in runs} <= {first.worker_id, second.worker_id}


def briefing_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith("scheduled briefing")]


async def test_each_feed_entry_is_indexed_and_reported_once_however_many_workers_poll(emu, settings, page_server):
    ferries, market = gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)
    gazette = page_server.add("/feed.xml", rss("Ellery Gazette", [ferries, market]), content_type=RSS)
    broken = page_server.add("/broken.xml", "oops", status=500, content_type="text/plain")
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    admin_chat = emu.private_chat(admin)
    clock = Clock(NOW)
    first, second = wire(settings, clock), wire(settings, clock)
    first.feed_subscriptions.add(gazette, "Ellery Gazette", NOW)
    first.feed_subscriptions.add(broken, "Broken", NOW)
    async with running_worker(first) as one, running_worker(second) as two:
        for _ in range(3):  # three polls, each run by both workers at once
            await asyncio.gather(daily_feeds(one).run(one), daily_feeds(two).run(two))
            clock.advance(minutes=16)
    (report,) = emu.messages(admin_chat)
    lines = report.text.split("\n")
    assert lines[:3] == [
        "Feeds:",
        "• added: Extra ferries cross Ellery harbour (Ellery Gazette)",
        "• added: Ellery fish market moves to the north quay (Ellery Gazette)",
    ]
    assert len(lines) == 4 and lines[3].startswith("• feed 2 (Broken) failed: ")  # once, though it fails on
    assert page_server.requests.count("/news/ferries") == 1 and page_server.requests.count("/news/market") == 1
    assert page_server.requests.count("/broken.xml") == 2  # polled once per interval (then backing off), by one
    titles = [article.title for article in first.store.articles()]
    assert titles.count(FERRIES[1]) == 1 and titles.count(MARKET[1]) == 1


def daily_feeds(application):
    (found,) = application.job_queue.get_jobs_by_name("feeds")
    return found


async def test_the_bots_telegram_budget_is_divided_among_the_live_workers(database_url):
    databases = [open_database(database_url) for _ in range(2)]
    first, second = (
        RetryingRateLimiter(workers=Workers(database, f"worker-{n}"), heartbeat_seconds=0.1)
        for n, database in enumerate(databases)
    )
    await first.initialize()
    await second.initialize()
    try:
        await until(lambda: first.sharing == 2)
        assert_budget(await sent_at_once(first, 20, chat_id=lambda n: n), 15, per_second=15)  # half of 30 a second
        await asyncio.sleep(1.1)  # a second: the overall budget is whole again
        assert_budget(await sent_at_once(first, 12, chat_id=lambda n: -100), 10, per_second=10 / 60)  # half of 20/min
        await second.shutdown()  # signs off: the other worker takes the whole budget at its next heartbeat
        await until(lambda: first.sharing == 1)
        assert_budget(await sent_at_once(first, 40, chat_id=lambda n: 1000 + n), 30, per_second=30)
    finally:
        await first.shutdown()
        for database in databases:
            database.close()


async def until(condition, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def assert_budget(sent: tuple[int, float], budget: int, per_second: float) -> None:
    """The limiter's buckets leak continuously: while the burst was sent (slowly on a busy machine), the budget grew
    by what that time refills, and no more."""
    count, seconds = sent
    assert budget <= count <= budget + math.ceil(per_second * seconds), (count, seconds)


async def sent_at_once(limiter: RetryingRateLimiter, count: int, chat_id) -> tuple[int, float]:
    """How many of `count` messages the limiter lets through before it makes any wait (the rest are cancelled), and
    the seconds that took."""
    sent = []
    started = asyncio.get_running_loop().time()

    async def send_message(*_args, **_kwargs):
        sent.append(1)
        return True

    tasks = [
        asyncio.create_task(limiter.process_request(send_message, (), {}, "sendMessage", {"chat_id": chat_id(n)}, None))
        for n in range(count)
    ]
    for _ in range(10):  # every task runs until it sends or waits for the limiter
        await asyncio.sleep(0)
    at_once, seconds = len(sent), asyncio.get_running_loop().time() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return at_once, seconds


def test_index_add_on_another_process_waits_for_the_writer_while_readers_go_on(
    sample_index, copy_of, database_url, tmp_path
):
    settings = on_postgres(copy_of(sample_index), database_url)
    store = wire(settings).store
    new = write_jsonl([FERRY_CREWS], tmp_path / "ferry.jsonl")
    ingest_url = f"{database_url}&application_name=newsbot-ingest"  # to find its session
    with store.writer():  # another machine is writing
        adding = subprocess.Popen(
            [sys.executable, "-m", "newsbot.cli", "index", "add", str(new)],
            cwd=tmp_path,
            env={**os.environ, "DATABASE_URL": ingest_url, "PYTHONPATH": str(REPO)},  # the install's model cache
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_lock(database_url, "newsbot-ingest", adding)
            assert store.stats()["articles"] == 1 and store.keyword_search("deployment", 3)  # readers go on
            assert adding.poll() is None  # still waiting
        except BaseException:
            adding.kill()
            raise
    out, err = adding.communicate(timeout=120)
    assert adding.returncode == 0, err
    assert "added 1" in out and store.stats()["articles"] == 2


def wait_for_lock(database_url: str, application: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the sessions of `application` try to take an advisory lock (the writer's, which the test holds)."""
    end = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as connection:
        while not connection.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND query LIKE %s",
            (application, "%pg_try_advisory_lock%"),
        ).fetchone():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < end, "the other process never waited for the lock"
            time.sleep(0.05)
