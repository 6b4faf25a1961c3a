"""/settings end to end: a chat's own Telegram admins (asked with getChatMember) set its answer length, outlet
or topic filter and time zone, and the answers, briefings and schedules in that chat follow them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.chat_settings import REFUSAL
from tests.bot_harness import running_bot
from tests.conftest import ADMIN_ID

QUESTION = "who denied the deployment?"
SHORT = "North Korea and Russia. Both North Korea and Russia have denied the troop deployment and alleged weapons transfer [1]."
SECOND_SENTENCE = "the U.S. and NATO have not confirmed the North Korean troop deployment"


async def test_the_chats_admins_change_its_settings_and_answers_follow_them(emu, sample_bot):
    owner, member, admin = emu.user("Olga", "olga"), emu.user("Max", "max"), emu.user("Ann", "ann")
    group = emu.group("Desk", [owner, member, admin], supergroup=True)
    emu.set_member_status(group, admin, "administrator")
    other = emu.group("Elsewhere", [member], supergroup=True)
    ask = f"@{emu.bot.username} {QUESTION}"
    async with running_bot(sample_bot()):

        async def said(user, text, chat=group):
            count = len(emu.messages(chat)) + 1
            emu.send(chat, user, text)
            return (await emu.wait_for_messages_async(chat, count))[-1].text

        refused = await said(member, "/settings length detailed")
        saved = await said(admin, "/settings length detailed")
        detailed = await said(member, ask)
        elsewhere = await said(member, ask, other)
        emu.send_as_chat(group, group, "/settings outlet Reuters")  # an anonymous admin
        unknown_outlet = (await emu.wait_for_messages_async(group, 4))[-1].text
        await said(owner, "/settings outlet SAMPLE")
        from_outlet = await said(member, ask)
        await said(admin, "/settings topic football")
        off_topic = await said(member, ask)
        shown = await said(member, "/settings")
        await said(owner, "/settings topic any")
        await said(owner, "/settings length short")
        back = await said(member, ask)
    assert refused == REFUSAL
    assert saved.startswith("Saved. Settings of this chat:\n• Answer length: detailed\n• Outlet: all outlets")
    assert detailed.startswith(SHORT) and SECOND_SENTENCE in detailed
    assert elsewhere.startswith(SHORT) and SECOND_SENTENCE not in elsewhere  # another chat keeps the defaults
    assert unknown_outlet.startswith("No indexed article is from “Reuters”; /sources shows the outlets")
    assert from_outlet.startswith(SHORT)
    assert off_topic == (
        "The indexed articles don't say.\n\nThis chat only searches articles from SAMPLE and about “football” "
        "(/settings)."
    )
    assert "• Topic: football\n• Time zone: UTC (the bot’s default)\n\nThe chat's admins change them with:" in shown
    assert back.startswith(SHORT) and SECOND_SENTENCE not in back


async def test_the_chats_time_zone_reads_time_words_dates_briefings_and_moves_its_schedules(emu, sample_bot):
    # 20:00 UTC on 22 October is 09:00 on 23 October in Auckland, where "yesterday" is the article's day.
    bot = sample_bot(now=datetime(2024, 10, 22, 20, 0, tzinfo=UTC))
    alice, admin = emu.user("Alice", "alice"), emu.user("Ada", "ada", user_id=ADMIN_ID)
    chat = emu.private_chat(alice)
    group = emu.group("Desk", [admin, alice])
    yesterday = "who denied the deployment yesterday?"
    async with running_bot(bot) as application:
        # Each reply awaited before the next message: the bot answers a chat's updates concurrently.
        emu.send(chat, alice, yesterday)
        (in_utc,) = await emu.wait_for_messages_async(chat, 1)
        emu.send(chat, alice, "/brief")
        (_, utc_brief) = await emu.wait_for_messages_async(chat, 2)
        emu.send(chat, alice, "/settings timezone Mars/Olympus")
        (*_, wrong) = await emu.wait_for_messages_async(chat, 3)
        emu.send(chat, alice, "/settings timezone Pacific/Auckland")
        (*_, saved) = await emu.wait_for_messages_async(chat, 4)
        emu.send(chat, alice, yesterday)
        (*_, in_auckland) = await emu.wait_for_messages_async(chat, 5)
        emu.send(chat, alice, "/brief")
        (*_, auckland_brief) = await emu.wait_for_messages_async(chat, 6)
        emu.send(group, admin, "/schedule here daily 08:00")
        (scheduled,) = await emu.wait_for_messages_async(group, 1)
        emu.send(group, admin, "/settings timezone Europe/Berlin")
        await emu.wait_for_messages_async(group, 2)
        (job,) = application.job_queue.get_jobs_by_name("briefing:1")
    assert "Note: no article published on 21 Oct 2024 answers this" in in_utc.text
    assert utc_brief.text.startswith("Briefing — 22 Oct 2024")
    assert wrong.text.startswith("“Mars/Olympus” is not a time zone")
    assert "• Time zone: Pacific/Auckland" in saved.text
    assert in_auckland.text.startswith(SHORT) and "Note:" not in in_auckland.text
    assert auckland_brief.text.startswith("Briefing — 23 Oct 2024")
    assert scheduled.text.endswith("(UTC).")
    assert job.job.trigger.timezone == ZoneInfo("Europe/Berlin")
