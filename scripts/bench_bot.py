"""The Telegram bot's latency, cold start and memory, against the Telegram emulator over real HTTP on 127.0.0.1.

    .venv/bin/python scripts/bench_bot.py [--index-dir data/bench/newsbot-index] [--sequential 30]
        [--users 50] [--per-user 4] [--process-questions 10] [--cold-starts 3] [--messages-per-second 1000]
        [--out data/bench/bot-bench.json]

With the extractive answerer and the RealTime QA questions (their question_sentence, cycled):

* cold_start: the real bot (`newsbot run`, beside this Python) as a separate process, pointed at the emulator by
  TELEGRAM_BASE_URL / TELEGRAM_BASE_FILE_URL. A question is queued before the process starts; reported are the
  seconds from process start to its first API call (getMe, while the index and model load), its first
  getUpdates and its reply to that question, the reply latency of --process-questions more questions asked one
  after another and the CPU time they took, and its memory: PSS summed over its processes when polling began and
  after answering, and the main process's RSS after answering and its peak (VmHWM). --cold-starts runs, each
  figure's median reported.
* sequential / concurrent: the bot Application in this process (tests/bot_harness.py), one user asking
  --sequential questions one after another, then --users users in their own private chats at once, each
  asking --per-user questions one after another (the next once the previous one is answered).

Latency is from the moment the user's message is queued in the emulator to the moment the emulator records
the bot's reply (the first message replying to it), both on this process's monotonic clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_support import run_script  # noqa: E402  (scripts/, beside this file)

from answers.core import ABSTAIN_TEXT  # noqa: E402
from evaluation import realtimeqa  # noqa: E402
from tests.bot_harness import bot_settings, running_bot  # noqa: E402
from tests.telegram_emulator import Chat, SentMessage, TelegramEmulator, User  # noqa: E402
from wiring.parts import Wiring  # noqa: E402
from wiring.settings import Settings  # noqa: E402

REPLY_TIMEOUT = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=Path("data/bench/newsbot-index"))
    parser.add_argument("--sequential", type=int, default=30, help="questions one user asks one after another")
    parser.add_argument("--users", type=int, default=50, help="users asking at the same time")
    parser.add_argument("--per-user", type=int, default=4, help="questions each concurrent user asks")
    parser.add_argument(
        "--process-questions", type=int, default=10, help="questions for the bot process after its first"
    )
    parser.add_argument("--cold-starts", type=int, default=3, help="separate-process runs (medians are reported)")
    parser.add_argument("--skip-process", action="store_true", help="skip the separate-process cold start runs")
    parser.add_argument(
        "--messages-per-second",
        type=float,
        default=1000.0,
        help="the bot's sending budget in the in-process runs (TELEGRAM_MESSAGES_PER_SECOND; Telegram's is 30, "
        "which caps answers a second at 30 whatever the bot can do: the default measures the bot)",
    )
    parser.add_argument("--out", type=Path, default=Path("data/bench/bot-bench.json"))
    args = parser.parse_args()
    index_dir, out = args.index_dir.resolve(), args.out.resolve()
    if not (index_dir / "index.sqlite").is_file():
        parser.error(f"no index at {index_dir}")
    os.chdir(ROOT)  # data/models and EVAL_DIR's default are relative to the repository
    settings = Settings(index_dir=index_dir, answerer="extractive")
    questions = [q.sentence for q in realtimeqa.questions(settings.eval_dir)]

    started = time.perf_counter()
    results: dict = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "index_dir": str(index_dir),
        "answerer": settings.answerer,
        "embedding_backend": settings.embedding_backend,
        "realtimeqa_questions": len(questions),
    }
    if not args.skip_process:
        results["cold_start"] = cold_starts(index_dir, questions, args.process_questions, args.cold_starts)
    progress("loading the answer service in this process ...")
    results.update(asyncio.run(bench_in_process(settings, questions, args)))
    results["questions_asked"] = (
        results["sequential"]["questions"]
        + results["concurrent"]["questions"]
        + sum(run.get("questions", 0) for run in results.get("cold_start", {}).get("each_run", []))
    )
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Figures


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(latencies_ms: list[float]) -> dict:
    if not latencies_ms:
        return {"count": 0}
    return {
        "count": len(latencies_ms),
        "p50_ms": round(percentile(latencies_ms, 50), 1),
        "p95_ms": round(percentile(latencies_ms, 95), 1),
        "mean_ms": round(sum(latencies_ms) / len(latencies_ms), 1),
        "min_ms": round(min(latencies_ms), 1),
        "max_ms": round(max(latencies_ms), 1),
    }


def failed_calls(emu: TelegramEmulator) -> dict[str, int]:
    """The bot's requests the emulator refused, by method and description."""
    return dict(Counter(f"{c.method}: {c.description}" for c in emu.api_calls() if c.status != 200))


def find_reply(emu: TelegramEmulator, chat: Chat, message_id: int) -> SentMessage | None:
    return next((m for m in emu.messages(chat) if m.reply_to_message_id == message_id), None)


# --------------------------------------------------------------------------------------------
# The bot in this process


class ReplyWatcher:
    """One thread that wakes with every request the bot makes and resolves the futures of answered questions.

    It is a plain thread rather than asyncio.to_thread, whose few workers the bot needs for its answers.
    """

    def __init__(self, emu: TelegramEmulator, loop: asyncio.AbstractEventLoop) -> None:
        self.emu, self.loop = emu, loop
        self.pending: dict[tuple[int, int], tuple[Chat, asyncio.Future]] = {}
        self.lock = threading.Lock()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="reply-watcher", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.emu.wait_until(self._check, timeout=24 * 3600)

    def _check(self) -> bool:
        with self.lock:
            waiting = list(self.pending.items())
        for key, (chat, future) in waiting:
            reply = find_reply(self.emu, chat, key[1])
            if reply is not None:
                with self.lock:
                    self.pending.pop(key, None)
                self.loop.call_soon_threadsafe(_resolve, future, reply)
        return self.stopped

    def expect(self, chat: Chat, message_id: int) -> asyncio.Future:
        future = self.loop.create_future()
        with self.lock:
            self.pending[(chat.id, message_id)] = (chat, future)
        return future

    def stop(self) -> None:
        self.stopped = True
        self.thread.join(timeout=5)


def _resolve(future: asyncio.Future, reply: SentMessage) -> None:
    if not future.done():
        future.set_result(reply)


async def ask(emu: TelegramEmulator, watcher: ReplyWatcher, chat: Chat, user: User, question: str) -> dict:
    queued = time.monotonic()
    message = emu.send(chat, user, question)
    try:
        reply = await asyncio.wait_for(watcher.expect(chat, message["message_id"]), REPLY_TIMEOUT)
    except TimeoutError:
        return {"error": f"no reply within {REPLY_TIMEOUT}s"}
    return {"ms": (reply.versions[0].at - queued) * 1000, "abstained": reply.text.strip() == ABSTAIN_TEXT}


def tally(outcomes: list[dict]) -> dict:
    latencies = [o["ms"] for o in outcomes if "ms" in o]
    return {
        "questions": len(outcomes),
        "answered": sum(not o["abstained"] for o in outcomes if "ms" in o),
        "abstained": sum(o["abstained"] for o in outcomes if "ms" in o),
        "unanswered": sum("error" in o for o in outcomes),
        "latency": summary(latencies),
    }


async def bench_in_process(settings: Settings, questions: list[str], args: argparse.Namespace) -> dict:
    loaded = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, TelegramEmulator() as emu:
        # Readers here ask faster than QUESTIONS_PER_MINUTE allows: the benchmark measures answering, not limits.
        overrides = {"questions_per_minute": 0, "telegram_messages_per_second": args.messages_per_second}
        wiring = Wiring(bot_settings(emu, settings, Path(scratch), **overrides))
        await asyncio.to_thread(wiring.answers.warm_up)
        results: dict = {
            "in_process_service_load_seconds": round(time.perf_counter() - loaded, 1),
            "messages_per_second_budget": args.messages_per_second,
        }
        async with running_bot(wiring):
            watcher = ReplyWatcher(emu, asyncio.get_running_loop())
            try:
                progress(f"sequential: 1 user, {args.sequential} questions ...")
                reader = emu.user("Reader", "reader")
                chat = emu.private_chat(reader)
                outcomes = []
                for i in range(args.sequential):
                    outcomes.append(await ask(emu, watcher, chat, reader, questions[i % len(questions)]))
                results["sequential"] = tally(outcomes)
                if outcomes and "ms" in outcomes[0]:
                    results["sequential"]["first_ms"] = round(outcomes[0]["ms"], 1)

                progress(f"concurrent: {args.users} users x {args.per_user} questions ...")
                users = [emu.user(f"User{n}", f"user{n}") for n in range(args.users)]
                chats = [emu.private_chat(user) for user in users]

                async def one_user(n: int) -> list[dict]:
                    first = args.sequential + n * args.per_user
                    return [
                        await ask(emu, watcher, chats[n], users[n], questions[(first + i) % len(questions)])
                        for i in range(args.per_user)
                    ]

                calls_before = len(emu.api_calls())
                started, cpu_before = time.perf_counter(), time.process_time()
                per_user = await asyncio.gather(*(one_user(n) for n in range(args.users)))
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu_before
                requests = Counter(c.method for c in emu.api_calls()[calls_before:] if c.method != "getUpdates")
                concurrent = tally([o for outcomes in per_user for o in outcomes])
                concurrent.update(
                    users=args.users,
                    per_user=args.per_user,
                    wall_seconds=round(wall, 2),
                    answers_per_second=round(concurrent["questions"] / wall, 2),
                    # the bot's and the emulator's CPU: both run in this process
                    cpu_ms_per_answer_with_emulator=round(1000 * cpu / concurrent["questions"], 1),
                    # PTB's AIORateLimiter keeps the bot's requests to --messages-per-second in all
                    bot_requests=dict(requests),
                    bot_requests_per_second=round(sum(requests.values()) / wall, 1),
                )
                results["concurrent"] = concurrent
            finally:
                watcher.stop()
            # before the shutdown, whose final getUpdates ends the pending long poll with a 409 Conflict
            results["in_process_failed_requests"] = failed_calls(emu)
    return results


# --------------------------------------------------------------------------------------------
# The bot as a separate process


def processes(pid: int) -> list[int]:
    """The process and its descendants."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [pid] + [descendant for child in children for descendant in processes(child)]


def memory_mb(pid: int) -> dict[str, float]:
    """PSS summed over the bot's processes (each shared page counted once overall), and the main process's RSS
    and peak RSS."""
    figures = {"pss": 0.0}
    for member in processes(pid):
        for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                figures["pss"] += int(line.split()[1]) / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0]) / 1024
    return {key: round(value, 1) for key, value in figures.items()}


def cold_starts(index_dir: Path, questions: list[str], more: int, runs: int) -> dict:
    """The median of each figure over `runs` separate-process runs, and every run's figures."""
    runs_made = []
    for run in range(runs):
        progress(f"cold start {run + 1}/{runs}: the bot as a separate process ...")
        runs_made.append(bench_process(index_dir, questions, more))
    medians = {
        key: round(statistics.median(run[key] for run in runs_made), 2)
        for key, value in runs_made[0].items()
        if isinstance(value, float) and all(isinstance(run.get(key), float) for run in runs_made)
    }
    return {"runs": len(runs_made), "medians": medians, "each_run": runs_made}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_process(index_dir: Path, questions: list[str], more: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch, TelegramEmulator() as emu:
        env = dict(
            os.environ,
            TELEGRAM_BOT_TOKEN=emu.token,
            TELEGRAM_BASE_URL=emu.base_url,
            TELEGRAM_BASE_FILE_URL=emu.base_file_url,
            INDEX_DIR=str(index_dir),
            BOT_STATE_PATH=str(Path(scratch) / "bot.sqlite"),
            UPLOADS_DIR=str(Path(scratch) / "uploads"),
            ANSWERER="extractive",
            QUESTIONS_PER_MINUTE="0",
            PYTHONUNBUFFERED="1",
        )
        for name in ("ADMIN_IDS", "ALLOWED_USER_IDS", "ALLOWED_CHAT_IDS", "WEBHOOK_URL"):
            env.pop(name, None)
        reader = emu.user("Reader", "reader")
        chat = emu.private_chat(reader)
        log_path = Path(scratch) / "bot.log"
        with log_path.open("w") as log:
            first = emu.send(chat, reader, questions[0])  # waiting for the bot, as users' messages do
            started = time.monotonic()
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "newsbot"), "run"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            try:
                result = drive_process(emu, process, chat, reader, first, started, questions, more)
                result["failed_requests"] = failed_calls(emu)  # before the shutdown's 409 Conflict, as above
            finally:
                stop_process(process)
        log_text = log_path.read_text(errors="replace")
        result["exit_code"] = process.returncode
        result["log_errors"] = [line for line in log_text.splitlines() if " ERROR " in line or "Traceback" in line][:10]
        if result.get("error"):
            result["log_tail"] = log_text.splitlines()[-30:]
        return result


def drive_process(emu, process, chat, reader, first, started, questions, more) -> dict:
    result: dict = {}

    def wait(predicate, what: str) -> float:
        def done() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the bot exited with {process.returncode} before {what}")
            return predicate()

        emu.wait_until(done, REPLY_TIMEOUT, what)
        return time.monotonic() - started

    try:
        result["seconds_to_first_api_call"] = round(wait(lambda: bool(emu.api_calls()), "its first request"), 2)
        result["first_api_call"] = emu.api_calls()[0].method
        result["seconds_to_first_get_updates"] = round(
            wait(lambda: bool(emu.api_calls("getUpdates")), "its first getUpdates"), 2
        )
        result["pss_polling_mb"] = memory_mb(process.pid)["pss"]
        wait(lambda: find_reply(emu, chat, first["message_id"]) is not None, "its first reply")
        reply = find_reply(emu, chat, first["message_id"])
        result["seconds_to_first_answer"] = round(reply.versions[0].at - started, 2)
        result["first_answer_abstained"] = reply.text.strip() == ABSTAIN_TEXT
        latencies, cpu_before = [], cpu_seconds(process.pid)
        for question in questions[1 : 1 + more]:
            queued = time.monotonic()
            message = emu.send(chat, reader, question)
            wait(lambda sent=message: find_reply(emu, chat, sent["message_id"]) is not None, "a reply")
            latencies.append((find_reply(emu, chat, message["message_id"]).versions[0].at - queued) * 1000)
        result["questions"] = 1 + len(latencies)
        result["latency_after_first"] = summary(latencies)
        result["cpu_ms_per_answer_after_first"] = round(
            1000 * (cpu_seconds(process.pid) - cpu_before) / max(1, len(latencies)), 1
        )
        memory = memory_mb(process.pid)
        result["pss_after_answering_mb"] = memory["pss"]
        result["rss_after_answering_mb"] = memory["VmRSS"]
        result["peak_rss_mb"] = memory["VmHWM"]
    except (AssertionError, RuntimeError) as error:
        result["error"] = str(error)
    return result


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # run_polling stops cleanly on SIGINT
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    run_script(main)
