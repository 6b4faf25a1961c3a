"""Answers a second with one and with two bot workers: real `newsbot run` processes in webhook mode on one
PostgreSQL, behind the Telegram emulator's load balancer (round robin), extractive answers on RealTime QA.

    .venv/bin/python scripts/bench_workers.py [--limit 400] [--workers 1 2] [--users 30] [--per-user 5]
        [--out data/bench]

Each setting runs twice: with Telegram's budget (TELEGRAM_MESSAGES_PER_SECOND=30, shared by the workers, so
two workers send no more than one) and with a budget that never binds (the answering capacity of the workers
on this machine).

The first --limit RealTime QA articles are indexed once into --out/backends-sqlite-index-LIMIT (as
scripts/bench_backends.py does) and copied into a private pgserver PostgreSQL (or DATABASE_URL, which must
be empty). For each number of workers: --users users in their own private chats ask --per-user questions each,
one after another (the next once the previous one is answered), all users at once; reported are answers a
second (questions / wall time), reply latency (queued in the emulator → the reply recorded), the workers' CPU
seconds per answer and which worker took how many updates. Also the cost of sharing Telegram's budget: a
heartbeat (one transaction every few seconds per worker) and the rate limiter per message (no database).
Figures go to --out/workers-bench.json; on a shared 2-core machine they are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_backends import build_sqlite, copy, postgres_url  # noqa: E402  (scripts/, beside this file)
from bench_bot import percentile, stop_process  # noqa: E402
from bench_support import run_script  # noqa: E402  (scripts/, beside this file)

from bot.network import RetryingRateLimiter  # noqa: E402
from evaluation import realtimeqa  # noqa: E402
from state.backends import open_database  # noqa: E402
from state.workers import Workers  # noqa: E402
from tests.http_server import listening  # noqa: E402
from tests.llm_server import free_port  # noqa: E402
from tests.telegram_emulator import TelegramEmulator  # noqa: E402
from wiring.settings import Settings  # noqa: E402

PUBLIC_URL = "https://newsbot.example/telegram"
TIMEOUT = 180.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=400, help="RealTime QA articles in the index")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument(
        "--budgets",
        type=float,
        nargs="+",
        default=[30, 1000],
        help="TELEGRAM_MESSAGES_PER_SECOND: Telegram's, and one that never binds",
    )
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    os.chdir(ROOT)
    settings = Settings()
    questions = [q.sentence for q in realtimeqa.questions(settings.eval_dir)]
    sqlite_dir = args.out / f"backends-sqlite-index-{args.limit}"
    results: dict = {
        "command": " ".join(sys.argv),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "sqlite_index": build_sqlite(settings, sqlite_dir, args.limit),
    }
    with postgres_url(settings) as url:
        results["copy_to_postgresql"] = copy(sqlite_dir, url)
        results["sharing_costs"] = sharing_costs(url)
        for budget in args.budgets:
            for count in args.workers:
                progress(
                    f"{count} worker(s), {budget:g} messages/s: {args.users} users x {args.per_user} questions ..."
                )
                results[f"budget_{budget:g}_workers_{count}"] = bench_workers(
                    url, count, budget, questions, args.users, args.per_user
                )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "workers-bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def sharing_costs(url: str, beats: int = 200, messages: int = 20_000) -> dict:
    """A heartbeat's time on this database, and the limiter's time per message (a budget too large to wait)."""
    database = open_database(url)
    workers = Workers(database, "bench:0:0")
    times = []
    for _ in range(beats):
        started = time.perf_counter()
        workers.beat(time.time())
        times.append((time.perf_counter() - started) * 1000)
    workers.leave()
    database.close()

    async def per_message() -> float:
        limiter = RetryingRateLimiter(overall_max_rate=10**9, group_max_rate=10**9)

        async def send_message(*_args, **_kwargs):
            return True

        started = time.perf_counter()
        for n in range(messages):
            await limiter.process_request(send_message, (), {}, "sendMessage", {"chat_id": -n}, None)
        return (time.perf_counter() - started) / messages * 1e6

    return {
        "heartbeat_ms_p50": round(statistics.median(times), 2),
        "heartbeat_ms_p95": round(percentile(times, 95), 2),
        "heartbeats_per_worker_per_minute": 12,
        "database_round_trips_per_message": 0,
        "limiter_us_per_message": round(asyncio.run(per_message()), 1),
    }


def bench_workers(url: str, count: int, budget: float, questions: list[str], users: int, per_user: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch, TelegramEmulator() as emu:
        ports = [free_port() for _ in range(count)]
        backends = [f"http://127.0.0.1:{port}/telegram" for port in ports]
        emu.webhook_backends(backends)
        logs = [Path(scratch) / f"worker-{n}.log" for n in range(count)]
        processes = [
            start_worker(emu, url, port, budget, log, Path(scratch)) for port, log in zip(ports, logs, strict=True)
        ]
        try:
            emu.wait_until(
                lambda: (
                    len([c for c in emu.api_calls("setWebhook") if c.status == 200]) == count
                    or any(p.poll() is not None for p in processes)
                ),
                TIMEOUT,
                "the workers to register the webhook",
            )
            for port in ports:
                listening(port, TIMEOUT)
            warm = emu.user("Warm", "warm")
            warm_chat = emu.private_chat(warm)
            for n in range(2 * count):  # every worker answers once before the clock starts
                emu.send(warm_chat, warm, questions[n])
                emu.wait_for_messages(warm_chat, n + 1, TIMEOUT)
            cpu_before, harness_before = [cpu_seconds(p.pid) for p in processes], time.process_time()
            calls_before, deliveries_before = len(emu.api_calls()), len(emu.deliveries())
            result = asyncio.run(ask_all(emu, questions, users, per_user))
            cpu = sum(cpu_seconds(p.pid) - before for p, before in zip(processes, cpu_before, strict=True))
            harness = time.process_time() - harness_before  # the emulator and the users, in this process
            taken = Counter(d.url for d in emu.deliveries()[deliveries_before:] if d.ok)
            requests = Counter(c.method for c in emu.api_calls()[calls_before:])
            failed = Counter(f"{c.method}: {c.description}" for c in emu.api_calls()[calls_before:] if c.status != 200)
        finally:
            for process in processes:
                stop_process(process)
        result.update(
            workers=count,
            telegram_messages_per_second=budget,
            bot_requests_per_second=round(sum(requests.values()) / result["wall_seconds"], 1),
            cpu_seconds_per_answer=round(cpu / max(1, result["answered"]), 3),
            workers_cpu_share=round(cpu / result["wall_seconds"], 2),  # cores the workers kept busy
            harness_cpu_share=round(harness / result["wall_seconds"], 2),
            load_average=round(os.getloadavg()[0], 2),
            updates_per_worker=[taken[backend] for backend in backends],
            bot_requests=dict(requests),
            failed_requests=dict(failed),
            log_errors=[line for log in logs for line in log.read_text().splitlines() if " ERROR " in line][:5],
        )
        return result


async def ask_all(emu: TelegramEmulator, questions: list[str], users: int, per_user: int) -> dict:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(users + 4))  # one waiting thread per user
    people = [emu.user(f"User{n}", f"user{n}") for n in range(users)]
    chats = [emu.private_chat(person) for person in people]
    latencies: list[float] = []

    async def one_user(n: int) -> int:
        answered = 0
        for i in range(per_user):
            queued = time.monotonic()
            emu.send(chats[n], people[n], questions[(n * per_user + i) % len(questions)])
            replies = await emu.wait_for_messages_async(chats[n], i + 1, TIMEOUT)
            latencies.append((replies[i].versions[0].at - queued) * 1000)
            answered += 1
        return answered

    started = time.perf_counter()
    answered = sum(await asyncio.gather(*(one_user(n) for n in range(users))))
    wall = time.perf_counter() - started
    return {
        "questions": users * per_user,
        "answered": answered,
        "wall_seconds": round(wall, 2),
        "answers_per_second": round(answered / wall, 2),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
    }


def start_worker(
    emu: TelegramEmulator, url: str, port: int, budget: float, log: Path, scratch: Path
) -> subprocess.Popen:
    env = {
        **{name: value for name, value in os.environ.items() if name not in ("WEBHOOK_SECRET", "ADMIN_IDS")},
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": emu.token,
        "TELEGRAM_BASE_URL": emu.base_url,
        "TELEGRAM_BASE_FILE_URL": emu.base_file_url,
        "WEBHOOK_URL": PUBLIC_URL,
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "ANSWERER": "extractive",
        "QUESTIONS_PER_MINUTE": "0",  # it measures answering, not limits
        "TELEGRAM_MESSAGES_PER_SECOND": str(budget),
        "UPLOADS_DIR": str(scratch / "uploads"),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "newsbot.cli", "run"], cwd=ROOT, env=env, stdout=output, stderr=output
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    run_script(main)
