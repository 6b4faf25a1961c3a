"""What the bot's admins and operators get, end to end: /stats with questions and feedback, the feedback
export, one JSON log line per question, one warning line per LLM failure, one-line start-up errors (checked at
start, not on the first question), the extractive fallback, webhook mode with /healthz, `newsbot --version`."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from bot.app import build_application
from bot.startup import check_before_start, check_telegram, retried
from bot.webhook import serve_webhook, webhook_server
from newsbot.cli import main
from tests import helpers
from tests.bot_harness import running_bot
from tests.conftest import ADMIN_ID
from tests.llm_server import free_port

QUESTION = "who denied the deployment?"
UNKNOWN = "What is the capital of Australia?"


async def test_stats_counts_questions_and_feedback_and_the_feedback_is_exported(emu, sample_bot, capsys, monkeypatch):
    bot = sample_bot()
    reader, admin = emu.user("Rae", "rae"), emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat, admin_chat = emu.private_chat(reader), emu.private_chat(admin)
    async with running_bot(bot):
        emu.send(chat, reader, QUESTION)
        (answer,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, reader, UNKNOWN)
        await emu.wait_for_messages_async(chat, 2)
        await emu.wait_for_callback_answer_async(emu.click(chat, reader, answer, answer.callback_data[2]))
        emu.send(admin_chat, admin, "/stats")
        (stats,) = await emu.wait_for_messages_async(admin_chat, 1)
    assert "Articles: 1\n" in stats.text and "Answers: extractive\n" in stats.text
    assert "Last 24 hours: 1 answered, 1 abstained; feedback 👍 0 👎 1" in stats.text
    assert "Last 7 days: 1 answered, 1 abstained; feedback 👍 0 👎 1" in stats.text

    monkeypatch.setenv("BOT_STATE_PATH", str(bot.settings.bot_state_path))
    assert main(["feedback", "--json"]) == 0
    (vote,) = json.loads(capsys.readouterr().out)
    assert (vote["vote"], vote["question"], vote["user_id"], vote["chat_id"]) == ("down", QUESTION, reader.id, chat.id)
    assert vote["answer"].startswith("North Korea and Russia. Both North Korea")
    assert vote["citations"][0]["title"].startswith("South Korea")
    assert main(["feedback"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("👎 ") and f"  Q: {QUESTION}\n  A: North Korea and Russia. Both North Korea" in printed
    assert "  [1] South Korea warns it may arm Ukraine over North Korean troops in Russia — sample" in printed


async def test_one_json_log_line_per_question_with_its_text_only_when_asked(emu, sample_bot, caplog):
    alice = emu.user("Alice", "alice")
    group = emu.group("Desk", [alice], supergroup=True)
    caplog.set_level(logging.INFO, logger="newsbot.questions")
    async with running_bot(sample_bot(log_questions=True)):
        emu.send(group, alice, f"/ask {UNKNOWN}")
        await emu.wait_for_messages_async(group, 1)
    (line,) = [record.getMessage() for record in caplog.records if record.name == "newsbot.questions"]
    logged = json.loads(line)
    assert {key: value for key, value in logged.items() if key != "latency_ms"} == {
        "event": "question",
        "chat_type": "supergroup",
        "answerer": "extractive",
        "abstained": True,
        "citations": 0,
        "question": UNKNOWN,
    }
    assert logged["latency_ms"] > 0


def unreachable_llm(**settings) -> dict:
    return {
        "answerer": "llm",
        "llm_model": "smollm2",
        "llm_base_url": f"http://127.0.0.1:{free_port()}/v1",
        "llm_api_key": "not-needed",
        "llm_timeout": 5.0,
        **settings,
    }


@pytest.mark.parametrize("debug", [False, True])
def test_an_llm_failure_is_one_warning_line_with_the_traceback_only_at_debug(sample_bot, caplog, debug):
    wiring = sample_bot(**unreachable_llm())
    caplog.set_level(logging.DEBUG if debug else logging.INFO, logger="newsbot.answers")
    answer = wiring.answers.answer(QUESTION)
    (warning,) = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert answer.answerer == "extractive" and answer.text.startswith("North Korea and Russia. Both North Korea")
    assert warning.getMessage().startswith("the llm answerer failed (Connection error.); answering extractively")
    assert bool(warning.exc_info) == debug


def run(monkeypatch, capsys, tmp_path, **env) -> tuple[int, str]:
    """`newsbot run` with these settings; its exit status and what it printed on stderr."""
    for name in ("OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        status = main(["run"])
    finally:
        logging.getLogger().handlers.clear()
    return status, capsys.readouterr().err


def test_a_bot_api_that_does_not_answer_at_start_is_tried_again_with_one_line_each_time(emu, caplog, tmp_path):
    """Issue 18, item 17: an unreachable Bot API at start (a machine booting, an outage) is no longer an error
    that stops the bot, as this test asserted before: it is tried again, one warning line naming the address
    and the wait each time, until it answers (tests/test_bot_startup.py: a real one, a minute later)."""
    closed = f"http://127.0.0.1:{free_port()}"
    down = helpers.test_settings(tmp_path, telegram_bot_token=emu.token, telegram_base_url=f"{closed}/bot")
    up = down.model_copy(update={"telegram_base_url": emu.base_url})
    tries = []

    def attempt() -> None:
        tries.append(len(tries))
        asyncio.run(check_telegram(down if len(tries) < 3 else up))

    caplog.set_level(logging.INFO, logger="newsbot.bot")
    retried(attempt, first=0.05, longest=0.1)
    waits = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(tries) == 3 and len(waits) == 2 and emu.token not in " ".join(waits)
    assert waits[0].startswith(f"can't reach the Telegram Bot API at {closed} (")
    assert waits[0].endswith("and TELEGRAM_BASE_URL; trying again in 0.05 s") and waits[1].endswith("in 0.1 s")


def test_start_up_errors_are_one_clear_line(emu, monkeypatch, capsys, tmp_path):
    telegram = {"TELEGRAM_BOT_TOKEN": emu.token, "TELEGRAM_BASE_URL": emu.base_url}
    status, err = run(monkeypatch, capsys, tmp_path, **telegram, ANSWERER="llm", LLM_MODEL="openai:gpt-4o-mini")
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("error: ANSWERER=llm can't use LLM_MODEL openai:gpt-4o-mini (Missing credentials.")
    assert err.endswith(
        "set LLM_API_KEY (or the provider's own key variable), or LLM_BASE_URL for an OpenAI-compatible server\n"
    )

    llm = {key.upper(): str(value) for key, value in unreachable_llm().items()}
    status, err = run(monkeypatch, capsys, tmp_path, **telegram, **llm)
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("error: the LLM does not answer (OpenAIConnectionError: Connection error.); check LLM_MODEL")


def test_with_llm_fallback_the_bot_starts_answering_extractively_and_says_so(emu, sample_bot, caplog):
    wiring = sample_bot(**unreachable_llm(llm_fallback="extractive"))
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    check_before_start(wiring)  # as `newsbot run` does, before the bot starts

    async def ask() -> list:
        async with running_bot(wiring):
            emu.send(chat, admin, QUESTION)
            await emu.wait_for_messages_async(chat, 1)
            emu.send(chat, admin, "/stats")
            return await emu.wait_for_messages_async(chat, 2)

    answer, stats = asyncio.run(ask())
    (warning,) = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert warning.startswith("answering extractively (LLM_FALLBACK=extractive): the LLM does not answer")
    assert answer.text.startswith("North Korea and Russia. Both North Korea")
    assert "Answers: extractive (the configured answerer failed at start: the LLM does not answer" in stats.text


async def test_webhook_mode_serves_updates_and_healthz(emu, sample_bot):
    port = free_port()
    wiring = sample_bot(
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret="s3cret-token",
    )
    application = build_application(wiring)
    server = webhook_server(application, "s3cret-token")
    serving = asyncio.create_task(serve_webhook(application, server, "s3cret-token"))
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    health = f"http://127.0.0.1:{port}/healthz"
    try:
        await emu.wait_until_async(lambda: server.started, timeout=20, description="the webhook server")
        emu.send(chat, alice, QUESTION)
        (answer,) = await emu.wait_for_messages_async(chat, 1)
        async with httpx.AsyncClient(timeout=20) as client:
            healthy = await client.get(health)
            forged = await client.post(f"http://127.0.0.1:{port}/telegram", json={"update_id": 1})
            emu.stop()  # the Bot API goes away
            unhealthy = await client.get(health)
    finally:
        server.should_exit = True
        await serving
    assert answer.text.startswith("North Korea and Russia. Both North Korea") and emu.deliveries()[0].ok
    assert (healthy.status_code, healthy.json()) == (200, {"ok": True, "index": "ok", "telegram": "ok"})
    assert forged.status_code == 403
    assert unhealthy.status_code == 503 and unhealthy.json()["telegram"].startswith("error: ")
    assert unhealthy.json()["index"] == "ok"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out.startswith("newsbot 0.1")
