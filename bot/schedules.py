"""Scheduled briefings: /schedule, /schedules, /unschedule, and the JobQueue jobs that post them."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import time
from html import escape
from zoneinfo import ZoneInfo

from telegram import Bot, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, JobQueue

from answers.timeframes import day_text
from bot.briefing_render import briefing_messages, heading
from bot.replies import send_html
from bot.restricted import admins_only
from bot.services import services
from newsbot.errors import NewsbotError
from newsbot.wiring import Wiring
from state.schedules import Schedule

log = logging.getLogger("newsbot.bot")
USAGE = (
    "Send /schedule CHAT WHEN HH:MM [topic], for example /schedule @mychannel daily 08:00 or "
    "/schedule here weekdays 18:30 ukraine. CHAT is a channel's or group's @username, its numeric id, or "
    "“here”; WHEN is daily, weekdays, weekends or a day of the week."
)
REFUSAL = "Only the bot's admins can schedule briefings."
# PTB's day numbers: 0 is Sunday.
FREQUENCIES = {"daily": tuple(range(7)), "weekdays": (1, 2, 3, 4, 5), "weekends": (0, 6)} | {
    day: (number,)
    for number, day in enumerate(("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))
}
MAX_TOPIC = 200  # characters: a topic is a few words to search for, and it is repeated in every briefing
CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Request:
    target: str
    frequency: str
    at: str
    topic: str


def parse_request(args: list[str]) -> Request:
    if len(args) < 3:
        raise NewsbotError(USAGE)
    target, frequency, at, *topic = args
    if frequency.lower() not in FREQUENCIES:
        raise NewsbotError(f"“{frequency}” is not daily, weekdays, weekends or a day of the week. {USAGE}")
    match = CLOCK_TIME.match(at)
    if not match:
        raise NewsbotError(f"“{at}” is not a time of day like 08:00 (24-hour clock). {USAGE}")
    subject = " ".join(topic)
    if len(subject) > MAX_TOPIC:
        raise NewsbotError(f"The topic is {len(subject):,} characters long; keep it to {MAX_TOPIC} or fewer. {USAGE}")
    return Request(target, frequency.lower(), f"{int(match[1]):02d}:{match[2]}", subject)


@admins_only(REFUSAL)
async def on_schedule(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    shared, message = services(context), update.effective_message
    try:
        request = parse_request(context.args or [])
        chat_id, name = await postable_chat(
            context.bot, update.effective_chat.id if request.target == "here" else request.target
        )
    except NewsbotError as error:
        await message.reply_text(str(error))
        return
    schedule = await asyncio.to_thread(
        shared.wiring.schedules.add,
        chat_id,
        name,
        request.frequency,
        request.at,
        request.topic,
        update.effective_user.id,
    )
    zone = await asyncio.to_thread(chat_zone, shared.wiring, chat_id)
    add_job(context.application, schedule, zone)
    await message.reply_text(f"Scheduled {schedule.describe()} ({zone.key}).")


@admins_only(REFUSAL)
async def on_schedules(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    wiring = services(context).wiring
    schedules = await asyncio.to_thread(wiring.schedules.all)
    zones = await asyncio.to_thread(wiring.chat_settings.time_zones)
    lines = [
        f"{schedule.describe()} ({zones.get(schedule.chat_id, wiring.settings.time_zone)})" for schedule in schedules
    ]
    await update.effective_message.reply_text("\n".join(lines) or "No briefings are scheduled. " + USAGE)


@admins_only(REFUSAL)
async def on_unschedule(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    store = services(context).wiring.schedules
    number = (context.args or [""])[0].lstrip("#")
    try:
        if not number.isdigit():
            raise NewsbotError("Send /unschedule N, N being the schedule's number in /schedules.")
        schedule = await asyncio.to_thread(store.remove, int(number))
    except NewsbotError as error:
        await update.effective_message.reply_text(str(error))
        return
    for job in context.job_queue.get_jobs_by_name(job_name(schedule.id)):
        job.schedule_removal()
    await update.effective_message.reply_text(f"Removed schedule {schedule.describe()}.")


async def postable_chat(bot: Bot, target: int | str) -> tuple[int, str]:
    """The chat's id and name when the bot may post there; otherwise a NewsbotError saying what to fix."""
    try:
        chat = await bot.get_chat(target)
        member = None if chat.type == ChatType.PRIVATE else await bot.get_chat_member(chat.id, bot.id)
    except TelegramError as error:
        raise NewsbotError(
            f"I can't open the chat {target} ({error.message}). For a channel, use its @username and make me an "
            "administrator first; for a group, add me and send /schedule here in the group."
        ) from error
    name = f"{chat.title or chat.full_name or chat.id}" + (f" (@{chat.username})" if chat.username else "")
    if member is None:  # a private chat with an admin, who has started the bot
        return chat.id, name
    status = member.status
    if chat.type == ChatType.CHANNEL and not (
        status == ChatMemberStatus.OWNER or (status == ChatMemberStatus.ADMINISTRATOR and member.can_post_messages)
    ):
        raise NewsbotError(
            f"I can't post in the channel {name}: I'm not one of its administrators with the right to post messages. "
            "Add me as an administrator (Channel settings → Administrators), then send /schedule again."
        )
    if status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED) or (
        status == ChatMemberStatus.RESTRICTED and not member.can_send_messages
    ):
        raise NewsbotError(f"I can't post in {name}: I'm not a member who may send messages. Add me, then try again.")
    return chat.id, name


def job_name(schedule_id: int) -> str:
    return f"briefing:{schedule_id}"


def add_job(application: Application, schedule: Schedule, zone: ZoneInfo) -> None:
    hour, minute = map(int, schedule.at.split(":"))
    job_queue: JobQueue = application.job_queue
    job_queue.run_daily(
        send_briefing,
        time(hour, minute, tzinfo=zone),
        days=FREQUENCIES[schedule.frequency],
        data=schedule.id,
        name=job_name(schedule.id),
    )


def restore(application: Application, wiring: Wiring) -> None:
    """Puts every stored schedule back on the JobQueue (at startup), in its chat's time zone."""
    zones = wiring.chat_settings.time_zones()
    for schedule in wiring.schedules.all():
        add_job(application, schedule, ZoneInfo(zones.get(schedule.chat_id, wiring.settings.time_zone)))


def reschedule_chat(application: Application, wiring: Wiring, chat_id: int) -> None:
    """Puts the chat's schedules back on the JobQueue in its time zone (after /settings timezone)."""
    zone = chat_zone(wiring, chat_id)
    for schedule in (schedule for schedule in wiring.schedules.all() if schedule.chat_id == chat_id):
        for job in application.job_queue.get_jobs_by_name(job_name(schedule.id)):
            job.schedule_removal()
        add_job(application, schedule, zone)


def chat_zone(wiring: Wiring, chat_id: int) -> ZoneInfo:
    """The chat's time zone (/settings timezone), else TIME_ZONE."""
    return ZoneInfo(wiring.chat_settings.get(chat_id).time_zone or wiring.settings.time_zone)


async def send_briefing(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job: the briefing of what was indexed since the schedule's last briefing (the newest stories the
    first time), or one line saying there is nothing new (or nothing, when BRIEFING_WHEN_EMPTY=skip)."""
    shared = services(context)
    wiring, store = shared.wiring, shared.wiring.schedules
    schedule = await asyncio.to_thread(store.get, context.job.data)
    if schedule is None:  # unscheduled meanwhile
        context.job.schedule_removal()
        return
    mark = await asyncio.to_thread(wiring.store.mark)
    chosen = await asyncio.to_thread(wiring.chat_settings.get, schedule.chat_id)
    outlets = (chosen.outlet,) if chosen.outlet else ()
    briefing = await asyncio.to_thread(wiring.briefer.brief, schedule.topic, None, schedule.last_mark, outlets)
    day = day_text(wiring.answers.today(ZoneInfo(chosen.time_zone) if chosen.time_zone else None))
    if briefing.items:
        parts = briefing_messages(briefing, heading(briefing, day))
    elif shared.settings.briefing_when_empty == "say":
        parts = [escape(f"{heading(briefing, day)}: nothing new since the last briefing.", quote=False)]
    else:
        parts = []
    try:
        await send_html(context.bot, schedule.chat_id, parts)
    except TelegramError as error:
        await _report_failure(context.bot, schedule, error)
        return
    await asyncio.to_thread(store.mark, schedule.id, mark)


async def _report_failure(bot: Bot, schedule: Schedule, error: TelegramError) -> None:
    text = (
        f"Could not post the scheduled briefing {schedule.describe()}: {error.message}. Make sure I'm still a member "
        "of the chat (an administrator who may post, for a channel), or remove the schedule with /unschedule."
    )
    log.warning("scheduled briefing #%s failed: %s", schedule.id, error)
    try:
        await bot.send_message(schedule.created_by, text)
    except TelegramError:
        log.warning("could not tell user %s that briefing #%s failed", schedule.created_by, schedule.id)
