"""LLM_DEADLINE bounds a whole LLM answer, against servers that misbehave over real HTTP (tests/fake_llm.py): one
that accepts the request and sends nothing, one that sends a token every 3 s. `ask` and the bot finish within
the deadline + 2 s with the extractive answer and a line saying the model was too slow (the bot's streamed
message edited into it), and the request is cancelled: the server sees the connection closed. Also: waiting for
a slot counts (LLM_CONCURRENCY), a briefing has one deadline, an unreachable server is tried again in the
background while questions are answered extractively (and at start, for LLM_START_WAIT), a local server gets a
placeholder key, and the settings alone name what is missing."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from answers.core import TOO_SLOW
from answers.llm import LLMConfig
from common.deadline import Deadline
from tests.bot_harness import running_bot
from tests.fake_llm import FakeLLM
from tests.helpers import wire
from tests.newsroom import build_index

QUESTION = "who denied the deployment?"
EXTRACTIVE = "Both North Korea and Russia have denied the troop deployment and alleged weapons transfer [1]."
DEADLINES = {"silent": 2.0, "trickle": 4.0}  # the trickle's first token comes at 3 s


def fake_llm_settings(base_url: str, **settings) -> dict:
    return {"answerer": "llm", "llm_model": "smollm2", "llm_base_url": base_url, **settings}


def wait_for(condition, timeout: float = 10.0) -> None:
    waiting = Deadline.after(timeout)
    while not condition():
        assert not waiting.passed, "timed out"
        time.sleep(0.05)


@pytest.fixture
def fake_llm():
    with FakeLLM(interval=3.0) as server:
        yield server


@pytest.mark.parametrize("kind", ["silent", "trickle"])
def test_ask_answers_extractively_by_the_deadline_and_the_request_is_cancelled(
    fake_llm, cli, sample_index, monkeypatch, tmp_path, kind
):
    deadline = DEADLINES[kind]
    monkeypatch.chdir(tmp_path)  # no .env
    settings = fake_llm_settings(fake_llm.base_url(kind), llm_deadline=deadline)
    for name, value in settings.items():
        monkeypatch.setenv(name.upper(), str(value))
    started = time.monotonic()
    status, out, _ = cli(sample_index, "ask", QUESTION, "--json")
    took = time.monotonic() - started
    answer = json.loads(out)
    assert status == 0 and took <= deadline + 2, took
    assert answer["answer"].startswith(f"{EXTRACTIVE}\n\n{TOO_SLOW}")
    assert (answer["answerer"], answer["fallback"]) == ("extractive", "deadline")
    (request,) = fake_llm.requests
    wait_for(lambda: request.closed is not None)
    assert request.closed - request.arrived <= deadline + 0.5
    assert request.tokens_sent == (1 if kind == "trickle" else 0)


@pytest.mark.parametrize("kind", ["silent", "trickle"])
async def test_the_bot_edits_what_it_streamed_into_the_extractive_answer_at_the_deadline(
    emu, sample_bot, fake_llm, caplog, kind
):
    deadline = DEADLINES[kind]
    settings = fake_llm_settings(fake_llm.base_url(kind), llm_deadline=deadline, stream_edit_seconds_private=0.2)
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    caplog.set_level(logging.INFO, logger="newsbot.questions")
    async with running_bot(sample_bot(**settings)):
        started = time.monotonic()
        emu.send(chat, alice, QUESTION)
        (message,) = await emu.wait_for_messages_async(chat, 1, timeout=30)
        await emu.wait_until_async(lambda: message.reply_markup is not None, timeout=30)
        took = time.monotonic() - started
    assert took <= deadline + 2, took
    assert message.text.startswith(f"{EXTRACTIVE}\n\n{TOO_SLOW}")
    assert message.history[:-1] == (["tok0 …"] if kind == "trickle" else [])
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "newsbot.questions"]
    assert (line["answerer"], line["fallback"]) == ("extractive", "deadline")
    wait_for(lambda: fake_llm.requests[0].closed is not None)


async def test_waiting_for_a_free_slot_counts_against_the_deadline(emu, sample_bot, fake_llm):
    settings = fake_llm_settings(fake_llm.base_url("silent"), llm_deadline=2.0)  # LLM_CONCURRENCY: 1, a local server
    alice, bob = emu.user("Alice", "alice"), emu.user("Bob", "bob")
    chats = emu.private_chat(alice), emu.private_chat(bob)
    async with running_bot(sample_bot(**settings)):
        started = time.monotonic()
        emu.send(chats[0], alice, QUESTION)
        emu.send(chats[1], bob, QUESTION)
        for chat in chats:
            await emu.wait_until_async(lambda chat=chat: any(m.reply_markup for m in emu.messages(chat)), timeout=30)
        took = time.monotonic() - started
    assert took <= 2.0 + 2, took
    assert all(TOO_SLOW in emu.messages(chat)[-1].text for chat in chats)
    assert len(fake_llm.requests) == 1  # the second question's deadline passed while it waited for the first


def test_a_briefing_has_one_deadline_for_all_its_stories(fake_llm, tmp_path):
    newsroom = build_index(tmp_path).model_copy(update=fake_llm_settings(fake_llm.base_url("silent"), llm_deadline=2.0))
    started = time.monotonic()
    briefing = wire(newsroom).briefer.brief()
    took = time.monotonic() - started
    assert len(briefing.items) >= 3 and all(item.citations for item in briefing.items)
    assert took <= 2.0 + 2, took
    assert len(fake_llm.requests) == 1  # the later stories were quoted without asking


def test_an_unreachable_server_is_tried_again_in_the_background_meanwhile_answers_are_extractive(sample_index):
    server = FakeLLM(interval=0.01, tokens=3)
    wiring = wire(sample_index.model_copy(update=fake_llm_settings(server.base_url("trickle"))))
    first = wiring.answers.answer(QUESTION)
    second = wiring.answers.answer(QUESTION)
    assert (first.fallback, second.fallback) == ("unavailable", "unavailable")
    assert first.text.startswith(EXTRACTIVE) and TOO_SLOW not in first.text
    with server:  # the server comes up
        wait_for(lambda: wiring.answers.answerer.recovery.problem is None)
        third = wiring.answers.answer(QUESTION)
    assert third.fallback == "ungrounded"  # the LLM was asked (and wrote tok0 tok1 tok2)
    assert len(server.requests) == 2  # the background check, then the third question


def test_a_local_server_gets_a_placeholder_key_never_openai_api_key(sample_index, monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-key-for-openai")
    with FakeLLM(interval=0.01, tokens=1, model="another-model") as server:
        wiring = wire(sample_index.model_copy(update=fake_llm_settings(server.base_url("trickle"))))
        wiring.prepare_answers()
    assert [request.authorization for request in server.requests] == ["Bearer not-needed"]
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == [
        f"LLM_MODEL smollm2 is not among the models the LLM server at {server.base_url('trickle')} lists "
        "(another-model): it may answer with another model"
    ]


def test_the_start_waits_for_a_server_still_loading(sample_index, caplog):
    server = FakeLLM(interval=0.01, tokens=1)
    wiring = wire(sample_index.model_copy(update=fake_llm_settings(server.base_url("trickle"), llm_start_wait=30)))
    starting = threading.Timer(1.5, server.__enter__)  # the server comes up while the start waits
    starting.start()
    try:
        wiring.settle_answerer()
    finally:
        starting.join()
        server.__exit__()
    assert wiring.answerer_problem is None and wiring.answers.answerer.name == "llm"
    retries = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert retries and all(line.endswith(("; trying again in 1 s", "; trying again in 2 s")) for line in retries)
    assert retries[0].startswith(f"the LLM server at {server.base_url('trickle')} does not answer: ")


@pytest.mark.parametrize(
    ("model", "base_url", "problem"),
    [
        ("openai:gpt-4o-mini", None, "ANSWERER=llm with LLM_MODEL openai:gpt-4o-mini needs an API key: set LLM_API_KEY "
         "(or OPENAI_API_KEY); for a local OpenAI-compatible server (llama.cpp, vLLM) set LLM_BASE_URL; or set "
         "ANSWERER=extractive"),
        ("smollm2", "http://127.0.0.1:8080/v1", None),  # a local server: the placeholder key
        ("anthropic:claude-3-5-haiku-latest", None, "LLM_MODEL anthropic:claude-3-5-haiku-latest needs the package "
         "langchain-anthropic (pip install langchain-anthropic)"),
        ("ollama:llama3.1", None, "LLM_MODEL ollama:llama3.1 needs the package langchain-ollama (pip install "
         "langchain-ollama)"),
    ],
)  # fmt: skip
def test_the_settings_alone_name_what_is_missing(model, base_url, problem, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert LLMConfig(model, base_url).problem() == problem
