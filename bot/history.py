"""Questions, answers and feedback are kept HISTORY_DAYS days: a daily JobQueue job deletes older ones (the
same purge as `newsbot purge`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.jobs import job_queue
from bot.services import services

log = logging.getLogger("newsbot.bot")
JOB = "history"
FIRST_SECONDS = 30


async def purge_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    wiring = services(context).wiring
    before = wiring.clock() - timedelta(days=wiring.settings.history_days)
    deleted = await asyncio.to_thread(wiring.conversations.purge, before)
    if any(deleted.values()):
        log.info("history older than %s deleted: %s", before.date(), deleted)


def start_purging(application: Application) -> None:
    job_queue(application).run_repeating(purge_job, interval=timedelta(days=1), first=FIRST_SECONDS, name=JOB)
