"""Scheduled briefings: /schedule, /schedules, /unschedule, and the JobQueue jobs that post them.

Every worker puts every schedule on its JobQueue, so each occurrence (a slot) fires in every worker; the one that
claims the slot in the state database posts it, the others look again when its claim's lease runs out (it may
have died) and find it posted (state/schedules.py). A worker that starts shortly after a slot that nobody posted
(all were restarting) posts it then, within BRIEFING_CATCH_UP_MINUTES."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from telegram import Bot, ChatMemberAdministrator, ChatMemberRestricted, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, Job, JobQueue

from answers.timeframes import day_text
from bot import updates
from bot.briefing_render import briefing_messages, heading
from bot.jobs import job_queue, running_job
from bot.replies import send_html
from bot.restricted import admins_only
from bot.services import services
from common.errors import NewsbotError
from state.schedules import Run, Schedule
from wiring.parts import Wiring

log = logging.getLogger("newsbot.bot")
USAGE = (
    "Send /schedule CHAT WHEN HH:MM [topic], for example /schedule @mychannel daily 08:00 or "
    "/schedule here weekdays 18:30 ukraine. CHAT is a channel's or group's @username, its numeric id, or "
    "“here”; WHEN is daily, weekdays, weekends or a day of the week."
)
# PTB's day numbers: 0 is Sunday.
FREQUENCIES = {"daily": tuple(range(7)), "weekdays": (1, 2, 3, 4, 5), "weekends": (0, 6)} | {
    day: (number,)
    for number, day in enumerate(("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))
}
MAX_TOPIC = 200  # characters: a topic is a few words to search for, and it is repeated in every briefing
CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
BRIEFING_LEASE = timedelta(minutes=10)  # a worker prepares and posts a briefing within this, or another takes over
LATE = timedelta(minutes=10)  # a briefing job that could not start on time (a busy worker) still runs this late


@dataclass(frozen=True)
class Due:
    """A briefing job's data: the schedule, and the slot to post (a catch-up, a takeover) or None: the schedule's
    occurrence nearest to the moment the job runs."""

    schedule_id: int
    slot: datetime | None = None


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


@admins_only
async def on_schedule(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    shared, message = services(context), updates.message(update)
    try:
        request = parse_request(context.args or [])
        chat_id, name = await postable_chat(
            context.bot, updates.chat(update).id if request.target == "here" else request.target
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
        updates.user(update).id,
        shared.wiring.clock(),
    )
    zone = await asyncio.to_thread(chat_zone, shared.wiring, chat_id)
    add_job(context.application, schedule, zone)
    await message.reply_text(f"Scheduled {schedule.describe()} ({zone.key}).")


@admins_only
async def on_schedules(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    wiring = services(context).wiring
    schedules = await asyncio.to_thread(wiring.schedules.all)
    zones = await asyncio.to_thread(wiring.chat_settings.time_zones)
    lines = [
        f"{schedule.describe()} ({zones.get(schedule.chat_id, wiring.settings.time_zone)})" for schedule in schedules
    ]
    await updates.message(update).reply_text("\n".join(lines) or "No briefings are scheduled. " + USAGE)


@admins_only
async def on_unschedule(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    store, message = services(context).wiring.schedules, updates.message(update)
    number = (context.args or [""])[0].lstrip("#")
    try:
        if not number.isdigit():
            raise NewsbotError("Send /unschedule N, N being the schedule's number in /schedules.")
        schedule = await asyncio.to_thread(store.remove, int(number))
    except NewsbotError as error:
        await message.reply_text(str(error))
        return
    for job in job_queue(context.application).get_jobs_by_name(job_name(schedule.id)):
        job.schedule_removal()
    await message.reply_text(f"Removed schedule {schedule.describe()}.")


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
    # Rights are fields of the member's class, which PTB picks by its status (ChatMemberAdministrator, ...)
    status = member.status
    if chat.type == ChatType.CHANNEL and not (
        status == ChatMemberStatus.OWNER or (isinstance(member, ChatMemberAdministrator) and member.can_post_messages)
    ):
        raise NewsbotError(
            f"I can't post in the channel {name}: I'm not one of its administrators with the right to post messages. "
            "Add me as an administrator (Channel settings → Administrators), then send /schedule again."
        )
    if status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED) or (
        isinstance(member, ChatMemberRestricted) and not member.can_send_messages
    ):
        raise NewsbotError(f"I can't post in {name}: I'm not a member who may send messages. Add me, then try again.")
    return chat.id, name


def job_name(schedule_id: int) -> str:
    return f"briefing:{schedule_id}"


def add_job(application: Application, schedule: Schedule, zone: ZoneInfo) -> None:
    hour, minute = map(int, schedule.at.split(":"))
    job_queue(application).run_daily(
        send_briefing,
        time(hour, minute, tzinfo=zone),
        days=FREQUENCIES[schedule.frequency],
        data=Due(schedule.id),
        name=job_name(schedule.id),
        job_kwargs={"misfire_grace_time": int(LATE.total_seconds())},
    )


def run_soon(queue: JobQueue, due: Due, seconds: float) -> None:
    """A catch-up or a look at another worker's claim: run however late it starts (APScheduler would skip a
    job more than a second late, e.g. when the worker's start takes a moment)."""
    queue.run_once(
        send_briefing, seconds, data=due, name=job_name(due.schedule_id), job_kwargs={"misfire_grace_time": None}
    )


def restore(application: Application, wiring: Wiring) -> None:
    """Puts every stored schedule back on the JobQueue (at startup), in its chat's time zone, and posts now the
    slots missed within BRIEFING_CATCH_UP_MINUTES (unless some worker has)."""
    zones = wiring.chat_settings.time_zones()
    grace, now = timedelta(minutes=wiring.settings.briefing_catch_up_minutes), wiring.clock()
    for schedule in wiring.schedules.all():
        zone = ZoneInfo(zones.get(schedule.chat_id, wiring.settings.time_zone))
        add_job(application, schedule, zone)
        missed = missed_slot(schedule, zone, now, grace)
        if missed is not None:
            run_soon(job_queue(application), Due(schedule.id, missed), 0)


def occurrences(schedule: Schedule, zone: ZoneInfo, around: datetime) -> list[datetime]:
    """The schedule's times in `zone` from a week before `around` to a week after."""
    hour, minute = map(int, schedule.at.split(":"))
    today = around.astimezone(zone).date()
    days = (today + timedelta(days=offset) for offset in range(-8, 9))
    # PTB numbers days from Sunday (0), Python's weekday() from Monday (0)
    return [
        datetime.combine(day, time(hour, minute), zone)
        for day in days
        if (day.weekday() + 1) % 7 in FREQUENCIES[schedule.frequency]
    ]


def nearest_slot(schedule: Schedule, zone: ZoneInfo, now: datetime) -> datetime:
    """The occurrence a job running at `now` is for: the nearest, so that a job that fires late is still its own."""
    return min(occurrences(schedule, zone, now), key=lambda at: abs(at - now))


def missed_slot(schedule: Schedule, zone: ZoneInfo, now: datetime, grace: timedelta) -> datetime | None:
    """The latest occurrence within `grace` before `now`, if the schedule existed by then."""
    latest = max((at for at in occurrences(schedule, zone, now) if now - grace <= at <= now), default=None)
    created = datetime.fromisoformat(schedule.created_at) if schedule.created_at else None
    return latest if latest is not None and (created is None or created <= latest) else None


def reschedule_chat(application: Application, wiring: Wiring, chat_id: int) -> None:
    """Puts the chat's schedules back on the JobQueue in its time zone (after /settings timezone)."""
    zone = chat_zone(wiring, chat_id)
    for schedule in (schedule for schedule in wiring.schedules.all() if schedule.chat_id == chat_id):
        for job in job_queue(application).get_jobs_by_name(job_name(schedule.id)):
            job.schedule_removal()
        add_job(application, schedule, zone)


def chat_zone(wiring: Wiring, chat_id: int) -> ZoneInfo:
    """The chat's time zone (/settings timezone), else TIME_ZONE."""
    return ZoneInfo(wiring.chat_settings.get(chat_id).time_zone or wiring.settings.time_zone)


async def send_briefing(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job: posts the schedule's slot, once among the workers (see the module's docstring)."""
    job = running_job(context)
    wiring, due = services(context).wiring, _due(job)
    store = wiring.schedules
    schedule = await asyncio.to_thread(store.get, due.schedule_id)
    if schedule is None:  # unscheduled meanwhile
        if due.slot is None:
            job.schedule_removal()
        return
    zone = await asyncio.to_thread(chat_zone, wiring, schedule.chat_id)
    slot = due.slot or nearest_slot(schedule, zone, wiring.clock())
    run = await asyncio.to_thread(store.claim, schedule.id, slot, wiring.worker_id, wiring.clock(), BRIEFING_LEASE)
    if not run.ours:
        _look_again(context, schedule, slot, run)
        return
    try:
        outcome, mark = await _post_briefing(context, schedule, run)
    except Exception:  # not tried again: the same error would come again
        await asyncio.to_thread(store.finish, run, "error", wiring.clock())
        raise
    if outcome:
        await asyncio.to_thread(store.finish, run, outcome, wiring.clock(), mark)
    log.info("scheduled briefing #%s for %s: %s", schedule.id, run.slot, outcome or "taken over by another worker")


def _due(job: Job) -> Due:
    if not isinstance(job.data, Due):
        raise TypeError(f"the briefing job {job.name} carries {job.data!r}, not a Due")
    return job.data


def _look_again(context: ContextTypes.DEFAULT_TYPE, schedule: Schedule, slot: datetime, run: Run) -> None:
    """Another worker holds the slot, or has posted it: if it holds it, look again when its lease runs out."""
    if run.finished_at is not None or run.given_up:
        log.info(
            "scheduled briefing #%s for %s: %s by %s", schedule.id, run.slot, run.outcome or "given up", run.worker
        )
        return
    now = services(context).wiring.clock()
    wait = max(0.0, (datetime.fromisoformat(run.lease_until) - now).total_seconds()) + 1
    run_soon(job_queue(context.application), Due(schedule.id, slot), wait)
    log.info(
        "scheduled briefing #%s for %s: claimed by %s until %s", schedule.id, run.slot, run.worker, run.lease_until
    )


async def _post_briefing(context: ContextTypes.DEFAULT_TYPE, schedule: Schedule, run: Run) -> tuple[str, int | None]:
    """The briefing of what was indexed since the schedule's last briefing (the newest stories the first time),
    or one line saying there is nothing new (or nothing, when BRIEFING_WHEN_EMPTY=skip); posted if the worker
    still holds the slot. The run's outcome ("" when the slot was lost) and the index's mark to record."""
    shared = services(context)
    wiring = shared.wiring
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
    if not await asyncio.to_thread(wiring.schedules.renew, run, wiring.clock(), BRIEFING_LEASE):
        return "", None  # it took longer than the lease and another worker took over: it posts
    try:
        await send_html(context.bot, schedule.chat_id, parts)
    except TelegramError as error:
        await _report_failure(context.bot, schedule, error)
        return "failed", None
    return "posted" if parts else "nothing new", mark


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
