"""/feed add|list|remove|resume|poll for admins, and the JobQueue job that polls the feeds and tells the admins."""

from __future__ import annotations

import asyncio
import logging
from html import escape

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot import updates
from bot.jobs import job_queue
from bot.render import split_messages
from bot.replies import reply_plain, send_html
from bot.restricted import admins_only
from bot.services import Services, services
from common.errors import NewsbotError
from feeds.polling import PollReport
from state.feeds import Feed
from wiring.settings import Settings

log = logging.getLogger("newsbot.bot")
USAGE = "Send /feed add URL, /feed list, /feed remove N, /feed resume N or /feed poll."
FIRST_POLL_SECONDS = 60


@admins_only
async def on_feed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    shared, args = services(context), context.args or []
    action, rest = (args[0].lower(), args[1:]) if args else ("", [])
    try:
        if action == "add" and len(rest) == 1:
            text = await _add(shared, rest[0])
        elif action == "list" and not rest:
            text = await asyncio.to_thread(_listing, shared)
        elif action == "remove" and len(rest) == 1 and rest[0].lstrip("#").isdigit():
            feed = await asyncio.to_thread(shared.wiring.feed_subscriptions.remove, int(rest[0].lstrip("#")))
            text = f"Unsubscribed from feed {feed.id}: {feed.title}."
        elif action == "resume" and len(rest) == 1 and rest[0].lstrip("#").isdigit():
            feed = await asyncio.to_thread(shared.wiring.feed_subscriptions.resume, int(rest[0].lstrip("#")))
            text = f"Resumed feed {feed.id}: {feed.title}; it is polled again from the next poll (/feed poll: now)."
        elif action == "poll" and not rest:
            report = await poll(shared, due_only=False)
            text = "\n".join(report.lines(every_failure=True)) or "No new entries."
        else:
            text = USAGE
    except NewsbotError as error:
        text = f"Could not do that: {error}"
    await reply_plain(updates.message(update), text)


async def _add(shared: Services, url: str) -> str:
    wiring = shared.wiring
    feed, content = await asyncio.to_thread(wiring.feed_poller.subscribe, url, wiring.clock())
    count, minutes = len(content.entries), shared.settings.feed_poll_minutes
    return (
        f"Subscribed to feed {feed.id}: {feed.title} ({count} {'entry' if count == 1 else 'entries'} now). "
        f"Its new articles are indexed every {minutes:g} minutes; /feed poll checks now."
    )


def _listing(shared: Services) -> str:
    feeds = shared.wiring.feed_subscriptions.feeds()
    lines = [f"{feed.id}. {feed.title} — {feed.url}" + _state(feed) for feed in feeds]
    return "\n".join(lines) or "No feeds yet. Send /feed add URL to subscribe to an RSS or Atom feed."


def _state(feed: Feed) -> str:
    if feed.paused_at:
        return (
            f"\n   paused since {feed.paused_at} after failing ({feed.last_error}); /feed resume {feed.id} to try again"
        )
    if feed.failures:
        return f"\n   failing ({feed.failures}×): {feed.last_error}; next try {feed.retry_at}"
    return ""


async def poll(shared: Services, due_only: bool = True) -> PollReport:
    """Polls the feeds off the event loop (one poll at a time: a slow poll is not started twice)."""
    wiring = shared.wiring
    async with shared.feed_poll:
        return await asyncio.to_thread(wiring.feed_poller.poll, wiring.clock(), due_only)


async def poll_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The repeating job: polls the feeds that are due and reports what happened to every admin."""
    shared = services(context)
    try:
        report = await poll(shared)
        log.info("feed poll: %d feeds polled here, %d articles added", report.polled, len(report.added))
        lines = report.lines()
    except NewsbotError as error:  # e.g. another process is writing the index: the next poll tries again
        lines = [f"could not poll the feeds: {error}"]
    if not lines:
        return
    text = "Feeds:\n" + "\n".join(f"• {line}" for line in lines)
    for admin_id in shared.settings.admin_ids:
        try:
            await send_html(context.bot, admin_id, split_messages([escape(text, quote=False)]))
        except TelegramError as error:  # an admin who has not started a chat with the bot yet
            log.warning("feed report not sent to admin %s: %s", admin_id, error)


def start_polling(application: Application, settings: Settings) -> None:
    """Polls every FEED_POLL_MINUTES, the first time a minute after start (or one interval, when shorter). Every
    worker does: the feeds and their entries are claimed in the state database (feeds/polling.py)."""
    interval = settings.feed_poll_minutes * 60
    job_queue(application).run_repeating(
        poll_job, interval=interval, first=min(FIRST_POLL_SECONDS, interval), name="feeds"
    )
