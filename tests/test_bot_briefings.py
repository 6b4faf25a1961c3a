"""Briefings, schedules and feeds through the real bot Application and the Bot API emulator, with a stopped
clock (moved on by the test where days pass); scheduled jobs are run through PTB's JobQueue rather than waited
for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tests.bot_harness import bot_settings, running_bot
from tests.helpers import Clock, index_items, wire
from tests.newsroom import FERRIES, FERRY_CREWS, MARKET, build_index, gazette_story, rss, write_jsonl

ADMIN_ID = 4242
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 11, 13, 6, 30, tzinfo=UTC)  # 07:30 in Berlin, a Wednesday
BRIDGE = "Ellery harbour bridge closed after cracks found in main span"
BRIDGE_TOO = "Cracked span shuts Ellery bridge for weeks, ferries added"


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory, embedder):
    return build_index(tmp_path_factory.mktemp("newsroom"))


@pytest.fixture
def bot(emu, newsroom, copy_of, tmp_path):
    settings = bot_settings(emu, copy_of(newsroom), tmp_path, admin_ids=[ADMIN_ID], time_zone="Europe/Berlin")
    return wire(settings, NOW)


@pytest.fixture
def admin(emu):
    user = emu.user("Ada", "ada", user_id=ADMIN_ID)
    return user, emu.private_chat(user)


def job(application, name: str):
    (found,) = application.job_queue.get_jobs_by_name(name)
    return found


async def test_brief_in_a_group_merges_outlets_and_takes_a_topic_and_a_period(emu, bot):
    alice = emu.user("Alice", "alice")
    group = emu.group("Newsroom", [alice], supergroup=True)
    async with running_bot(bot):
        emu.send(group, alice, "/brief")
        (briefing,) = await emu.wait_for_messages_async(group, 1)
        emu.send(group, alice, f"/brief@{emu.bot.username} Bank of Valdora interest rates since 1 November")
        (_, on_topic) = await emu.wait_for_messages_async(group, 2)
        emu.send(group, alice, "/brief volcano")
        (*_, nothing) = await emu.wait_for_messages_async(group, 3)
    assert briefing.text.startswith("Briefing — 13 Nov 2024\n\n") and briefing.parse_mode == "HTML"
    bridge = briefing.text.split("\n\n")[1]
    assert bridge.split("\n")[0] in (BRIDGE, BRIDGE_TOO)
    assert "Coast Herald, 12 Nov 2024" in bridge and "Northern Times, 12 Nov 2024" in bridge
    assert any(e["type"] == "bold" for e in briefing.entities) and briefing.link_preview_disabled
    assert on_topic.text.startswith("Briefing on Bank of Valdora interest rates, since 1 Nov 2024 — 13 Nov 2024")
    assert "Bank of Valdora holds interest rates" in on_topic.text and "raises interest rates" not in on_topic.text
    assert nothing.text == "No articles on volcano."


async def test_a_daily_briefing_to_a_channel_fires_at_eight_once_a_day_and_then_only_with_news(
    emu, bot, admin, embedder, tmp_path
):
    settings, clock = bot.settings, Clock(NOW)
    ada, ada_chat = admin
    channel = emu.channel("Ellery News", username="ellerynews")
    async with running_bot(wire(settings, clock)) as application:
        emu.send(ada_chat, ada, "/schedule @ellerynews daily 08:00")
        (confirmation,) = await emu.wait_for_messages_async(ada_chat, 1)
        briefing_job = job(application, "briefing:1")
        await briefing_job.run(application)
        (first,) = await emu.wait_for_messages_async(channel, 1)
        await briefing_job.run(application)  # the same day's briefing again: it was posted
        assert len(emu.messages(channel)) == 1
        clock.advance(days=1)
        await briefing_job.run(application)
        (_, nothing_new) = await emu.wait_for_messages_async(channel, 2)
        ferry = write_jsonl([FERRY_CREWS], tmp_path / "ferry.jsonl")
        await asyncio.to_thread(index_items, settings, [ferry])
        clock.advance(days=1)
        await briefing_job.run(application)
        (*_, news) = await emu.wait_for_messages_async(channel, 3)
    assert confirmation.text == "Scheduled #1: daily at 08:00 to Ellery News (@ellerynews) (Europe/Berlin)."
    assert briefing_job.next_t.astimezone(BERLIN).time() == time(8, 0)
    assert first.text.startswith("Briefing — 13 Nov 2024\n\n") and (BRIDGE in first.text or BRIDGE_TOO in first.text)
    assert nothing_new.text == "Briefing — 14 Nov 2024: nothing new since the last briefing."
    assert news.text.startswith(f"Briefing — 15 Nov 2024\n\n{FERRY_CREWS['title']}\n") and BRIDGE not in news.text


async def test_schedule_says_what_to_fix_when_the_bot_cannot_post(emu, bot, admin):
    ada, ada_chat = admin
    reader = emu.user("Rae", "rae")
    reader_chat = emu.private_chat(reader)
    emu.channel("Ellery Talk", username="ellerytalk", bot_is_admin=False)
    async with running_bot(bot) as application:
        replies = []
        for number, command in enumerate(
            ("/schedule @ellerytalk daily 08:00", "/schedule @nowhere daily 08:00", "/schedule here daily 25:00"), 1
        ):
            emu.send(ada_chat, ada, command)
            replies.append((await emu.wait_for_messages_async(ada_chat, number))[-1])
        not_admin, not_found, bad_time = replies
        emu.send(reader_chat, reader, "/schedule here daily 08:00")
        (refused,) = await emu.wait_for_messages_async(reader_chat, 1)
        assert application.job_queue.get_jobs_by_name("briefing:1") == ()
    assert not_admin.text.startswith(
        "I can't post in the channel Ellery Talk (@ellerytalk): I'm not one of its administrators with the right "
        "to post messages. Add me as an administrator"
    )
    assert not_found.text.startswith("I can't open the chat @nowhere (Chat not found).")
    assert bad_time.text.startswith("“25:00” is not a time of day like 08:00")
    assert refused.text == "Only the bot's admins can use /schedule; /help shows what you can do."


async def test_schedules_survive_a_restart_and_can_be_removed(emu, bot, admin):
    ada, ada_chat = admin
    group = emu.group("Desk", [ada], supergroup=True)
    async with running_bot(bot):
        emu.send(group, ada, "/schedule here weekdays 18:30 Bank of Valdora")
        await emu.wait_for_messages_async(group, 1)
    async with running_bot(wire(bot.settings, NOW)) as application:  # a new process: only the database is shared
        restored = job(application, "briefing:1")
        emu.send(ada_chat, ada, "/schedules")
        (listing,) = await emu.wait_for_messages_async(ada_chat, 1)
        await restored.run(application)
        (_, briefing) = await emu.wait_for_messages_async(group, 2)
        emu.send(ada_chat, ada, "/unschedule 1")
        (_, removed) = await emu.wait_for_messages_async(ada_chat, 2)
        assert application.job_queue.get_jobs_by_name("briefing:1") == ()
    assert restored.next_t.astimezone(BERLIN).time() == time(18, 30) and restored.next_t.weekday() < 5
    assert listing.text == "#1: weekdays at 18:30 to Desk on “Bank of Valdora” (Europe/Berlin)"
    assert briefing.text.startswith("Briefing on Bank of Valdora — 13 Nov 2024")
    assert removed.text == "Removed schedule #1: weekdays at 18:30 to Desk on “Bank of Valdora”."


async def test_a_briefing_that_cannot_be_posted_is_reported_to_whoever_scheduled_it(emu, bot, admin):
    ada, ada_chat = admin
    channel = emu.channel("Ellery News", username="ellerynews")
    async with running_bot(bot) as application:
        emu.send(ada_chat, ada, "/schedule @ellerynews daily 08:00")
        await emu.wait_for_messages_async(ada_chat, 1)
        emu.set_bot_status(channel, "left")
        await job(application, "briefing:1").run(application)
        (_, failure) = await emu.wait_for_messages_async(ada_chat, 2)
    assert emu.messages(channel) == []
    assert failure.text.startswith(
        "Could not post the scheduled briefing #1: daily at 08:00 to Ellery News (@ellerynews): "
    )
    assert "bot is not a member of the channel chat" in failure.text and "/unschedule" in failure.text


async def test_a_briefing_with_nothing_new_can_be_skipped(emu, bot, admin):
    settings = bot.settings
    ada, ada_chat = admin
    channel = emu.channel("Ellery News", username="ellerynews")
    clock = Clock(NOW)
    async with running_bot(wire(settings.model_copy(update={"briefing_when_empty": "skip"}), clock)) as application:
        emu.send(ada_chat, ada, "/schedule @ellerynews daily 08:00")
        await emu.wait_for_messages_async(ada_chat, 1)
        await job(application, "briefing:1").run(application)
        clock.advance(days=1)
        await job(application, "briefing:1").run(application)  # each run has posted by the time it returns
    assert len(emu.messages(channel)) == 1
    assert [run.outcome for run in bot.schedules.runs(1)] == ["posted", "nothing new"]


async def test_admins_subscribe_a_feed_and_hear_what_each_poll_added(emu, bot, admin, page_server):
    ada, ada_chat = admin
    ferries, market = gazette_story(page_server, *FERRIES), gazette_story(page_server, *MARKET)
    feed_url = page_server.add("/feed.xml", rss("Ellery Gazette", [ferries]), content_type="application/rss+xml")
    reader = emu.user("Rae", "rae")
    reader_chat = emu.private_chat(reader)
    clock = Clock(NOW)
    async with running_bot(wire(bot.settings, clock)) as application:
        emu.send(ada_chat, ada, f"/feed add {feed_url}")
        (subscribed,) = await emu.wait_for_messages_async(ada_chat, 1)
        await job(application, "feeds").run(application)
        (_, first_report) = await emu.wait_for_messages_async(ada_chat, 2)
        page_server.add("/feed.xml", rss("Ellery Gazette", [market, ferries]), content_type="application/rss+xml")
        clock.advance(minutes=15)
        await job(application, "feeds").run(application)
        (*_, second_report) = await emu.wait_for_messages_async(ada_chat, 3)
        emu.send(reader_chat, reader, "Where did the Ellery fish market move?")
        (answer,) = await emu.wait_for_messages_async(reader_chat, 1)
        emu.send(ada_chat, ada, "/feed list")
        (*_, listing) = await emu.wait_for_messages_async(ada_chat, 4)
    assert subscribed.text.startswith("Subscribed to feed 1: Ellery Gazette (1 entry now).")
    assert first_report.text == "Feeds:\n• added: Extra ferries cross Ellery harbour (Ellery Gazette)"
    assert second_report.text == "Feeds:\n• added: Ellery fish market moves to the north quay (Ellery Gazette)"
    assert "north quay" in answer.text and "Ellery Gazette, 13 Nov 2024" in answer.text
    assert listing.text == f"1. Ellery Gazette — {feed_url}"
