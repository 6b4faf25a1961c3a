"""What readers get beyond answers, end to end against the Bot API emulator: /reset, unknown commands, /help
and /start, per-user limits, and history that is deleted after HISTORY_DAYS; the terminal chat's commands."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsbot.cli import main
from tests.bot_harness import bot_settings, running_bot
from tests.conftest import ADMIN_ID
from tests.helpers import shared_embedder
from wiring.parts import Wiring

FIRST = "How many North Korean troops were sent to Russia?"
FOLLOW_UP = "And how many did Zelenskyy claim?"  # answered only as a follow-up of FIRST
QUESTION = "who denied the deployment?"
NOW = datetime(2024, 10, 24, 9, 0, 30, tzinfo=UTC)
README = Path(__file__).resolve().parent.parent / "README.md"


async def test_reset_forgets_this_users_conversation_in_this_chat_only(emu, sample_bot):
    bot = sample_bot()
    alice, bob = emu.user("Alice", "alice"), emu.user("Bob", "bob")
    group = emu.group("Desk", [alice, bob], supergroup=True)
    private = emu.private_chat(alice)
    mention = f"@{emu.bot.username}"
    async with running_bot(bot):
        emu.send(private, alice, FIRST)
        emu.send(group, alice, f"{mention} {FIRST}")
        emu.send(group, bob, f"{mention} {FIRST}")
        await emu.wait_for_messages_async(group, 2)
        await emu.wait_for_messages_async(private, 1)
        emu.send(group, alice, "/reset")
        (*_, reset) = await emu.wait_for_messages_async(group, 3)
        emu.send(group, alice, f"{mention} {FOLLOW_UP}")
        (*_, forgotten) = await emu.wait_for_messages_async(group, 4)
        emu.send(group, bob, f"{mention} {FOLLOW_UP}")
        (*_, remembered) = await emu.wait_for_messages_async(group, 5)
        emu.send(private, alice, FOLLOW_UP)
        (_, still_private) = await emu.wait_for_messages_async(private, 2)
        emu.send(private, alice, "/new")
        (*_, again) = await emu.wait_for_messages_async(private, 3)
        emu.send(private, alice, "/new")
        (*_, nothing) = await emu.wait_for_messages_async(private, 4)
    assert reset.text.startswith(
        "I've forgotten our conversation in this chat: your 1 earlier question and my answers, which follow-up "
        "questions build on. Your next question starts afresh."
    )
    assert "feedback are deleted after 30 days" in reset.text
    assert forgotten.text.startswith("The indexed articles don't say.")  # (and which article it searched)
    assert "10,000" in remembered.text and "10,000" in still_private.text
    assert again.text.startswith("I've forgotten our conversation in this chat: your 2 earlier questions")
    assert nothing.text.startswith("There was nothing to forget")


async def test_unknown_commands_get_one_line_pointing_to_help(emu, sample_bot):
    alice = emu.user("Alice", "alice")
    private, group = emu.private_chat(alice), emu.group("Desk", [alice])
    async with running_bot(sample_bot()):
        emu.send(private, alice, "/weather tomorrow")
        emu.send(group, alice, "/weather")  # maybe another bot's
        emu.send(group, alice, "/weather@some_other_bot")
        emu.send(group, alice, f"/weather@{emu.bot.username}")
        (in_private,) = await emu.wait_for_messages_async(private, 1)
        (in_group,) = await emu.wait_for_messages_async(group, 1)
        await asyncio.sleep(0.5)
    line = "I don't know the command /weather. Send /help to see what I can do."
    assert in_private.text == line and in_group.text == line and len(emu.messages(group)) == 1


async def test_help_says_what_readers_chat_admins_and_bot_admins_can_do_and_start_tells_the_user_id(emu, sample_bot):
    reader, admin = emu.user("Rae", "rae"), emu.user("Ada", "ada", user_id=ADMIN_ID)
    reader_chat, admin_chat = emu.private_chat(reader), emu.private_chat(admin)
    async with running_bot(sample_bot()):
        emu.send(reader_chat, reader, "/help")
        emu.send(admin_chat, admin, "/help")
        (reader_help,) = await emu.wait_for_messages_async(reader_chat, 1)
        emu.send(reader_chat, reader, "/start")
        (_, start) = await emu.wait_for_messages_async(reader_chat, 2)
        (admin_help,) = await emu.wait_for_messages_async(admin_chat, 1)
    assert f"Everyone (also inline: type @{emu.bot.username} and a question in any chat)" in reader_help.text
    for line in ("/reset — Forget our conversation in this chat (also /new)", "/brief — A cited briefing"):
        assert line in reader_help.text
    assert "This chat's admins (in a private chat, you)\n/settings — " in reader_help.text
    assert "/add" not in reader_help.text and "The bot's admins\n/add — " in admin_help.text
    assert f"Your Telegram user id is {reader.id} (what the bot's owner puts in ADMIN_IDS)." in start.text


async def test_a_sender_past_the_limit_is_told_when_to_try_again(emu, sample_bot):
    bot = sample_bot(now=NOW, questions_per_minute=2)
    alice, admin = emu.user("Alice", "alice"), emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat, admin_chat = emu.private_chat(alice), emu.private_chat(admin)
    group = emu.group("Desk", [alice], supergroup=True)
    emu.set_member_status(group, alice, "creator", is_anonymous=True)
    wait = "You're asking faster than I can keep up: at most 2 a minute. Please try again in 30 seconds."
    async with running_bot(bot):
        emu.send(chat, alice, QUESTION)
        (answer,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, alice, "/brief")
        await emu.wait_for_messages_async(chat, 2)
        emu.send(chat, alice, QUESTION)
        (*_, refused) = await emu.wait_for_messages_async(chat, 3)
        click = emu.click(chat, alice, answer, answer.callback_data[0])
        alert = await emu.wait_for_callback_answer_async(click)
        for _ in range(3):  # an anonymous admin counts as the group, not as Alice (who is past her limit)
            emu.send_as_chat(group, group, f"/ask {QUESTION}")
        await emu.wait_for_messages_async(group, 3)
        for _ in range(3):
            emu.send(admin_chat, admin, QUESTION)
        await emu.wait_for_messages_async(admin_chat, 3)
        await asyncio.sleep(0.3)
    assert refused.text == wait and (alert.text, alert.show_alert) == (wait, True)
    assert len(emu.messages(chat)) == 3  # the Sources button showed nothing
    group_replies = [message.text for message in emu.messages(group)]
    assert sum(text == wait for text in group_replies) == 1 and len(group_replies) == 3
    assert all(message.text.startswith("North Korea and Russia. Both") for message in emu.messages(admin_chat))


async def test_history_older_than_history_days_is_deleted_by_the_daily_job_and_by_the_operator(
    emu, sample_index, copy_of, tmp_path, capsys, monkeypatch
):
    moments = [NOW]
    settings = bot_settings(emu, copy_of(sample_index), tmp_path, history_days=2, admin_ids=[ADMIN_ID])
    bot = Wiring(settings, creates_index=True, clock=lambda: moments[-1], embedder=shared_embedder())
    alice = emu.user("Alice", "alice")
    chat = emu.private_chat(alice)
    async with running_bot(bot) as application:
        emu.send(chat, alice, FIRST)
        (old,) = await emu.wait_for_messages_async(chat, 1)
        await emu.wait_for_callback_answer_async(emu.click(chat, alice, old, old.callback_data[1]))
        moments.append(NOW + timedelta(days=3))
        emu.send(chat, alice, QUESTION)
        await emu.wait_for_messages_async(chat, 2)
        (job,) = application.job_queue.get_jobs_by_name("history")
        await job.run(application)
        emu.send(chat, alice, FOLLOW_UP)  # FIRST is forgotten
        await emu.wait_for_messages_async(chat, 3)
        await emu.wait_for_callback_answer_async(emu.click(chat, alice, old, old.callback_data[0]))
    with bot.database.transaction() as cursor:
        kept = [row["question"] for row in cursor.execute("SELECT question FROM answers ORDER BY id").fetchall()]
    assert bot.conversations.feedback() == [] and kept == [QUESTION, FOLLOW_UP]  # the first answer is deleted
    assert [turn.question for turn in bot.conversations.history(chat.id, alice.id)] == [QUESTION, FOLLOW_UP]
    monkeypatch.setenv("BOT_STATE_PATH", str(settings.bot_state_path))
    monkeypatch.setenv("HISTORY_DAYS", "2")
    assert main(["purge", "--json"]) == 0  # the operator's purge, on the real clock: all of it is old
    purged = json.loads(capsys.readouterr().out)
    assert (purged["days"], purged["turns"], purged["answers"]) == (2, 2, 2)


def test_the_terminal_chat_understands_help_and_reset(sample_index, capsys, monkeypatch):
    typed = "\n".join([FIRST, "/help", FOLLOW_UP, "/reset", FOLLOW_UP, "/weather", QUESTION, "/quit"]) + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert main(["chat", "--index-dir", str(sample_index.index_dir)]) == 0
    printed = capsys.readouterr().out
    replies = printed.split("you> ")[1:]
    assert "/reset or /new  forget the conversation" in replies[1]
    assert "10,000" in replies[2]
    assert replies[3].startswith("Forgot the conversation (2 earlier questions)")
    assert "The indexed articles don't say." in replies[4]
    assert replies[5].startswith("Unknown command /weather; /help lists the commands.")
    sample = re.search(r"```\n(you> .*?)```", README.read_text(), re.DOTALL)[1]
    shown = "you> " + QUESTION + "\n" + replies[6].rstrip() + "\n"
    assert re.sub(r"\(\d+ \w+ old\)", "(AGE old)", shown) == re.sub(r"\(\d+ \w+ old\)", "(AGE old)", sample)
