"""Questions, answers and feedback are kept HISTORY_DAYS days, articles ARTICLE_DAYS days (0: forever): a daily
JobQueue job deletes what is older (the same purge as `newsbot purge`, the same prune as `newsbot index prune`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.jobs import job_queue
from bot.services import services
from common.errors import NewsbotError

log = logging.getLogger("newsbot.bot")
JOB = "history"
FIRST_SECONDS = 30


async def purge_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    wiring = services(context).wiring
    before = wiring.clock() - timedelta(days=wiring.settings.history_days)
    deleted = await asyncio.to_thread(wiring.conversations.purge, before)
    if any(deleted.values()):
        log.info("history older than %s deleted: %s", before.date(), deleted)
    kept_since = wiring.articles_kept_since()
    if kept_since is None:
        return
    try:
        pruned = await asyncio.to_thread(wiring.indexer.prune, kept_since)
    except NewsbotError as error:  # e.g. the index stayed busy: tomorrow's run prunes them
        log.warning("articles older than ARTICLE_DAYS not removed: %s", error)
        return
    if pruned:
        log.info("%d articles published before %s removed (ARTICLE_DAYS)", len(pruned), kept_since)


def start_purging(application: Application) -> None:
    job_queue(application).run_repeating(purge_job, interval=timedelta(days=1), first=FIRST_SECONDS, name=JOB)
