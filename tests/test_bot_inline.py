"""Inline mode end to end: "@bot question" in any chat, answered by the real Application through the Bot API
emulator's inline queries (answerInlineQuery checked as Telegram does, results sent into a chat)."""

from __future__ import annotations

import asyncio
import json
import logging

from tests.bot_harness import running_bot
from tests.conftest import ADMIN_ID

QUESTION = "who denied the deployment?"
ANSWER = "North Korea and Russia. Both North Korea and Russia have denied the troop deployment and alleged weapons transfer [1]."
SOURCE = "1. South Korea warns it may arm Ukraine over North Korean troops in Russia — sample, 22 Oct 2024"
INLINE_MODE = True  # the emulator fixture's bot has inline mode


async def test_an_inline_question_gets_the_cited_answer_to_send_into_any_chat(emu, sample_bot, caplog):
    alice, bob = emu.user("Alice", "alice"), emu.user("Bob", "bob")
    group = emu.group("Friends", [alice, bob])
    caplog.set_level(logging.INFO, logger="newsbot.questions")
    async with running_bot(sample_bot()):
        query = emu.inline_query(alice, QUESTION, chat_type="group")
        answer = await emu.wait_for_inline_answer_async(query)
        sent = emu.choose_inline_result(alice, group, query, answer.result_ids[0])
        again = await emu.wait_for_inline_answer_async(emu.inline_query(bob, "  Who denied the  deployment? "))
    (result,) = answer.results
    content = answer.contents[result["id"]]
    assert result["type"] == "article" and result["title"] == QUESTION and result["description"].startswith(ANSWER)
    assert content.text.startswith(ANSWER) and f"Sources\n{SOURCE}" in content.text
    assert content.parse_mode == "HTML" and {"type": "bold"}.items() <= content.entities[0].items()
    assert (answer.cache_time, answer.is_personal) == (120, False)
    assert sent.text == content.text and emu.inline_messages(group) == [sent]
    assert again.results == answer.results  # the same question, from the bot's cache: answered once
    (logged,) = [json.loads(record.getMessage()) for record in caplog.records if record.name == "newsbot.questions"]
    assert logged == {
        "event": "question",
        "chat_type": "inline",
        "answerer": "extractive",
        "latency_ms": logged["latency_ms"],
        "abstained": False,
        "citations": 1,
    }


async def test_typing_is_ignored_and_only_the_finished_question_is_answered(emu, sample_bot):
    alice = emu.user("Alice", "alice")
    async with running_bot(sample_bot()):
        typed = [emu.inline_query(alice, text) for text in ("who", "who denied", "who denied the", QUESTION)]
        answer = await emu.wait_for_inline_answer_async(typed[-1])
        unknown = emu.inline_query(alice, "What is the capital of Australia?")
        abstained = await emu.wait_for_inline_answer_async(unknown)
        await asyncio.sleep(0.5)
    assert [emu.inline_answer(query) for query in typed[:-1]] == [None, None, None]
    assert answer.contents[answer.result_ids[0]].text.startswith(ANSWER)
    (result,) = abstained.results
    assert result["description"] == "The indexed articles don't say."
    assert abstained.contents[result["id"]].text == "The indexed articles don't say."


async def test_with_allowed_users_only_they_are_answered_and_their_answers_are_personal(emu, sample_bot):
    alice, bob = emu.user("Alice", "alice"), emu.user("Bob", "bob")
    async with running_bot(sample_bot(allowed_user_ids=[alice.id])):
        refused = emu.inline_query(bob, QUESTION)
        allowed = await emu.wait_for_inline_answer_async(emu.inline_query(alice, QUESTION))
        await asyncio.sleep(1.5)
    assert emu.inline_answer(refused) is None
    assert allowed.is_personal and allowed.contents[allowed.result_ids[0]].text.startswith(ANSWER)


async def test_inline_mode_is_off_when_only_chats_are_allowed(emu, sample_bot):
    admin, reader = emu.user("Ada", "ada", user_id=ADMIN_ID), emu.user("Rae", "rae")
    async with running_bot(sample_bot(allowed_chat_ids=[-100123])):
        from_admin = await emu.wait_for_inline_answer_async(emu.inline_query(admin, QUESTION))
        from_reader = emu.inline_query(reader, QUESTION)
        await asyncio.sleep(1.5)
    assert from_admin.results == [] and from_admin.is_personal
    assert emu.inline_answer(from_reader) is None


async def test_inline_questions_count_against_the_limit(emu, sample_bot):
    alice = emu.user("Alice", "alice")
    questions = [QUESTION, "How many North Korean troops were sent to Russia?"]
    async with running_bot(sample_bot(questions_per_minute=1)):
        first, second = [await emu.wait_for_inline_answer_async(emu.inline_query(alice, q)) for q in questions]
    assert first.contents[first.result_ids[0]].text.startswith(ANSWER)
    (wait,) = second.results
    assert wait["title"] == "Please wait" and wait["description"].startswith("You're asking faster than I can keep up")
    assert second.cache_time == 0 and second.is_personal
