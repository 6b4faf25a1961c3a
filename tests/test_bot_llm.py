"""The bot in LLM mode: answers stream into one message by edits, flood control loses no text, and a long
answer is split. The LLM is the real llama.cpp server; where a known output is needed, a GBNF grammar
constrains its sampling (see tests/test_llm_answers.py)."""

from __future__ import annotations

import pytest

from tests.bot_harness import bot_settings, running_bot
from tests.helpers import wire
from tests.llm_server import forced, llm_settings

SENTENCE = "Both North Korea and Russia have denied the troop deployment [1]."


def llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output: str, max_tokens: int, **overrides):
    llm = llm_settings(copy_of(sample_index), llm_server, **overrides)
    return forced(wire(bot_settings(emu, llm, tmp_path, stream_edit_seconds_private=0.2)), output, max_tokens)


async def test_answer_streams_by_edits_then_shows_the_validated_answer(
    emu, sample_index, copy_of, tmp_path, llm_server
):
    output = " ".join([SENTENCE] * 4)
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output, 100)):
        emu.send(chat, alice, "who denied the deployment?")
        (message,) = await emu.wait_for_messages_async(chat, 1, timeout=60)
        await emu.wait_until_async(lambda: message.reply_markup is not None, timeout=60)
    assert message.edit_count >= 2
    assert any(version.endswith("…") for version in message.history[:-1])
    assert message.text.startswith(SENTENCE)
    assert "Sources\n1. South Korea warns it may arm Ukraine" in message.text


async def test_flood_control_delays_edits_without_losing_text(emu, sample_index, copy_of, tmp_path, llm_server):
    output = " ".join([SENTENCE] * 8)
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    emu.flood_limit(chat, 1, retry_after=1)
    async with running_bot(llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output, 200)):
        emu.send(chat, alice, "who denied the deployment?")
        (message,) = await emu.wait_for_messages_async(chat, 1, timeout=60)
        await emu.wait_until_async(lambda: message.reply_markup is not None, timeout=90)
    assert message.text.count("have denied the troop deployment [1].") == 8
    assert any(call.status == 429 for call in emu.api_calls())


@pytest.mark.slow
async def test_a_long_llm_answer_is_split_under_the_limit(emu, sample_index, copy_of, tmp_path, llm_server):
    paragraph = " ".join([SENTENCE] * 8)
    output = "\n\n".join([paragraph] * 7 + [" ".join([SENTENCE] * 5)])  # just over 4,096 characters, sources included
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    slow_enough = {"llm_deadline": 115.0}  # about 1,000 tokens: 25 s idle, a minute on a busy machine
    async with running_bot(llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output, 1100, **slow_enough)):
        emu.send(chat, alice, "who denied the deployment?")
        await emu.wait_for_messages_async(chat, 2, timeout=120)
        await emu.wait_until_async(lambda: any(m.reply_markup for m in emu.messages(chat)), timeout=120)
    messages = emu.messages(chat)
    assert all(len(m.text) <= 4096 for m in messages)
    assert sum(m.text.count("have denied the troop deployment") for m in messages) == 61
    assert messages[-1].reply_markup is not None and "Sources" in messages[-1].text
