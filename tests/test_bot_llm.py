"""The bot in LLM mode: answers stream into one message by edits, flood control loses no text, and a long
answer is split. The LLM is the real llama.cpp server; where a known output is needed, a GBNF grammar
constrains its sampling (see tests/test_llm_answers.py)."""

from __future__ import annotations

from tests.bot_harness import bot_settings, running_bot
from tests.helpers import wire
from tests.llm_server import forced

SENTENCE = "Both North Korea and Russia have denied the troop deployment [1]."


def llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output: str, max_tokens: int):
    settings = bot_settings(
        emu,
        copy_of(sample_index),
        tmp_path,
        answerer="llm",
        llm_model=llm_server.model,
        llm_base_url=llm_server.base_url,
        llm_api_key="not-needed",
        stream_edit_seconds_private=0.2,
    )
    return forced(wire(settings), llm_server, output, max_tokens)


async def test_answer_streams_by_edits_then_shows_the_validated_answer(
    emu, sample_index, copy_of, tmp_path, llm_server
):
    output = " ".join([SENTENCE] * 6)
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output, 200)):
        emu.send(chat, alice, "who denied the deployment?")
        (message,) = await emu.wait_for_messages_async(chat, 1, timeout=60)
        await emu.wait_until_async(lambda: message.reply_markup is not None, timeout=60)
    assert message.edit_count >= 2
    assert any(version.endswith("…") for version in message.history[:-1])
    assert message.text.startswith(SENTENCE.replace("[1]", "[1]"))
    assert "Sources\n1. South Korea warns it may arm Ukraine" in message.text


async def test_flood_control_delays_edits_without_losing_text(emu, sample_index, copy_of, tmp_path, llm_server):
    output = " ".join([SENTENCE] * 8)
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    emu.flood_limit(chat, 1, retry_after=1)
    async with running_bot(llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output, 240)):
        emu.send(chat, alice, "who denied the deployment?")
        (message,) = await emu.wait_for_messages_async(chat, 1, timeout=60)
        await emu.wait_until_async(lambda: message.reply_markup is not None, timeout=90)
    assert message.text.count("have denied the troop deployment [1].") == 8
    assert any(call.status == 429 for call in emu.api_calls())


async def test_a_long_llm_answer_is_split_under_the_limit(emu, sample_index, copy_of, tmp_path, llm_server):
    paragraph = " ".join([SENTENCE] * 8)
    output = "\n\n".join([paragraph] * 9)
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(llm_bot(emu, sample_index, copy_of, tmp_path, llm_server, output, 1600)):
        emu.send(chat, alice, "who denied the deployment?")
        await emu.wait_for_messages_async(chat, 2, timeout=120)
        await emu.wait_until_async(lambda: any(m.reply_markup for m in emu.messages(chat)), timeout=120)
    messages = emu.messages(chat)
    assert all(len(m.text) <= 4096 for m in messages)
    assert sum(m.text.count("have denied the troop deployment") for m in messages) == 72
    assert messages[-1].reply_markup is not None and "Sources" in messages[-1].text
