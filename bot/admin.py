"""Admin commands: /add URL…, /remove, /reindex and /stats, through the CLI's code (uploads: bot/uploads.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from telegram import Update
from telegram.ext import ContextTypes

from bot import updates
from bot.replies import reply_plain
from bot.restricted import admins_only
from bot.services import services
from common.errors import NewsbotError
from index.indexer import IngestReport
from index.ingest import read_urls

T = TypeVar("T")

PERIODS = (("Last 24 hours", timedelta(days=1)), ("Last 7 days", timedelta(days=7)))


async def index_job(work: Callable[[], T]) -> T | str:
    """Runs blocking index work off the event loop; returns an error text on failure. Fetching and
    embedding run side by side; the index takes one write at a time."""
    try:
        return await asyncio.to_thread(work)
    except NewsbotError as error:
        return f"Could not finish: {error}"


def report_text(report: IngestReport) -> str:
    lines = [report.summary()] + [f"• {line}" for line in report.problem_lines()]
    return "\n".join(lines)


@admins_only
async def on_add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    urls, message = context.args or [], updates.message(update)
    if not urls:
        await message.reply_text("Send /add followed by one or more article URLs, or upload a file.")
        return
    wiring = services(context).wiring
    await message.reply_text(f"Indexing {len(urls)} URL(s)…")
    result = await index_job(lambda: wiring.indexer.add(read_urls(urls, wiring.fetch_article)))
    await reply_plain(message, result if isinstance(result, str) else report_text(result))


@admins_only
async def on_remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = updates.message(update)
    if not context.args:
        await message.reply_text("Send /remove followed by an article id or URL (see /sources).")
        return
    indexer, target = services(context).wiring.indexer, context.args[0]

    def remove() -> str:
        article = indexer.remove(target)
        return f"Removed {article.id}: {article.title}"

    await reply_plain(message, await index_job(remove))


@admins_only
async def on_reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = updates.message(update)
    await message.reply_text("Re-indexing every article; answers keep coming from the current index…")
    wiring = services(context).wiring

    def rebuild() -> str:
        count = wiring.indexer.rebuild()
        return f"Re-indexed {count} articles with {wiring.embedder.model_id}."

    await message.reply_text(await index_job(rebuild))


@admins_only
async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    wiring = services(context).wiring
    stats = await asyncio.to_thread(wiring.store.stats)
    now = wiring.clock()
    activity = [
        activity_line(label, await asyncio.to_thread(wiring.conversations.activity, now - period))
        for label, period in PERIODS
    ]
    lines = [
        f"Articles: {stats['articles']}",
        f"Passages: {stats['passages']}",
        f"Model: {stats['model']} ({stats['dimension']} dimensions)",
        f"Index size: {stats['bytes'] / 1_000_000:.1f} MB",
        f"Newest article: {stats['newest_published'] or 'no dates'}",
        f"Answers: {wiring.answers.answerer.name}"
        + (f" (the configured answerer failed at start: {wiring.answerer_problem})" if wiring.answerer_problem else ""),
        *activity,
    ]
    if wiring.database.dialect == "postgresql":  # several workers may share the bot
        live = await asyncio.to_thread(wiring.workers.live, time.time())
        names = ", ".join(f"{worker['host']} pid {worker['pid']}" for worker in live)
        lines.append(f"Workers: {len(live)} ({names})")
    await updates.message(update).reply_text("\n".join(lines))


def activity_line(period: str, counts: dict[str, int]) -> str:
    return (
        f"{period}: {counts['answered']} answered, {counts['abstained']} abstained; "
        f"feedback 👍 {counts['up']} 👎 {counts['down']}"
    )
