"""The bot's LLM-specific behaviour against the real llama.cpp server (its output pinned by a grammar):
inline answers fall back to the extractive answer when the LLM can't finish in Telegram's inline time, and
LLM_QUESTIONS_PER_DAY budgets each user's LLM questions."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import inline
from tests.bot_harness import running_bot
from tests.llm_server import forced, llm_overrides

QUESTION = "who denied the deployment?"
SENTENCE = "Both North Korea and Russia have denied the troop deployment [1]."
EXTRACTIVE = "North Korea and Russia. Both North Korea and Russia have denied the troop deployment and alleged weapons transfer [1]."
INLINE_MODE = True  # the emulator fixture's bot has inline mode


def llm_bot(sample_bot, llm_server, output: str, max_tokens: int, **settings):
    return forced(sample_bot(**llm_overrides(llm_server, **settings)), output, max_tokens)


async def test_an_inline_llm_answer_gives_way_to_the_extractive_one_when_too_slow(
    emu, sample_bot, llm_server, monkeypatch
):
    alice = emu.user("Alice", "alice")
    monkeypatch.setattr(inline, "LLM_SECONDS", 0.01)
    async with running_bot(llm_bot(sample_bot, llm_server, " ".join([SENTENCE] * 3), 80)):
        slow = await emu.wait_for_inline_answer_async(emu.inline_query(alice, QUESTION), timeout=30)
        again = await emu.wait_for_inline_answer_async(emu.inline_query(alice, QUESTION + " "), timeout=30)
    for answer in (slow, again):  # asked again: not cached
        text = answer.contents[answer.result_ids[0]].text
        assert text.startswith(EXTRACTIVE) and "The language model was too slow" in text


async def test_a_timely_inline_llm_answer_is_the_llms(emu, sample_bot, llm_server, monkeypatch):
    alice = emu.user("Alice", "alice")
    monkeypatch.setattr(inline, "LLM_SECONDS", 50.0)  # timely on a busy machine too: the test's own timeout is 60 s
    async with running_bot(llm_bot(sample_bot, llm_server, SENTENCE, 40)):
        answer = await emu.wait_for_inline_answer_async(emu.inline_query(alice, QUESTION), timeout=60)
    text = answer.contents[answer.result_ids[0]].text
    assert text.startswith(SENTENCE) and "Sources\n1. South Korea warns" in text


async def test_each_user_has_a_daily_budget_of_llm_questions(emu, sample_bot, llm_server):
    now = datetime(2024, 10, 24, 9, 0, 30, tzinfo=UTC)
    bot = llm_bot(sample_bot, llm_server, SENTENCE, 40, now=now, llm_questions_per_day=1)
    bot.settings = bot.settings.model_copy(update={"stream_edit_seconds_private": 0.2})
    alice, bob = emu.user("Alice", "alice"), emu.user("Bob", "bob")
    alices, bobs = emu.private_chat(alice), emu.private_chat(bob)
    async with running_bot(bot):
        emu.send(alices, alice, QUESTION)
        (first,) = await emu.wait_for_messages_async(alices, 1, timeout=60)
        await emu.wait_until_async(lambda: first.reply_markup is not None, timeout=60)
        emu.send(alices, alice, "/brief")
        (_, refused) = await emu.wait_for_messages_async(alices, 2, timeout=60)
        emu.send(bobs, bob, QUESTION)
        (bobs_answer,) = await emu.wait_for_messages_async(bobs, 1, timeout=60)
    assert first.text.startswith(SENTENCE)
    assert refused.text == (
        "You've asked the 1 question you have for today. Please try again after 00:00 UTC (in 15 h 0 min)."
    )
    assert bobs_answer.text.startswith("Both North Korea")
