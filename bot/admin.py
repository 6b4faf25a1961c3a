"""Admin commands: /add URL…, document uploads, /remove, /reindex and /stats, through the CLI's code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from telegram import Update
from telegram.ext import ContextTypes

from bot.restricted import admins_only
from bot.services import Services, services
from index.errors import NewsbotError
from index.ingest import add_to_index
from index.reader import IndexReader
from index.readers import SUPPORTED_SUFFIXES
from index.writer import IndexWriter, IngestReport

T = TypeVar("T")
BUSY = "An index job is already running. Questions are still answered; try again when it has finished."


admin_only = admins_only("Only the bot's admins can add, remove or re-index articles.")


async def index_job(context: ContextTypes.DEFAULT_TYPE, work: Callable[[Services], T]) -> T | str:
    """Runs blocking index work off the event loop, one job at a time; returns an error text on failure."""
    shared = services(context)
    if shared.index_job.locked():
        return BUSY
    async with shared.index_job:
        try:
            return await asyncio.to_thread(work, shared)
        except NewsbotError as error:
            return f"Could not finish: {error}"


def report_text(report: IngestReport) -> str:
    lines = [report.summary()] + [f"• {line}" for line in report.problem_lines()]
    return "\n".join(lines)


@admin_only
async def on_add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    urls = context.args or []
    if not urls:
        await update.effective_message.reply_text("Send /add followed by one or more article URLs, or upload a file.")
        return
    await update.effective_message.reply_text(f"Indexing {len(urls)} URL(s)…")
    result = await index_job(
        context, lambda shared: add_to_index(urls, shared.settings, shared.answers.retriever.embedder)
    )
    await update.effective_message.reply_text(result if isinstance(result, str) else report_text(result))


@admin_only
async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = update.effective_message.document
    name = Path(document.file_name or "upload.txt").name
    shared = services(context)
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        await update.effective_message.reply_text(
            f"{name}: unsupported file type; send {', '.join(SUPPORTED_SUFFIXES)}."
        )
        return
    if document.file_size and document.file_size > shared.settings.max_file_bytes:
        await update.effective_message.reply_text(f"{name}: the file is too large ({document.file_size:,} bytes).")
        return
    # Kept under a stable name, so that uploading an edited file again updates its article.
    path = shared.settings.uploads_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    await (await document.get_file()).download_to_drive(path)
    result = await index_job(context, lambda s: add_to_index([str(path)], s.settings, s.answers.retriever.embedder))
    await update.effective_message.reply_text(result if isinstance(result, str) else report_text(result))


@admin_only
async def on_remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not context.args:
        await update.effective_message.reply_text("Send /remove followed by an article id or URL (see /sources).")
        return

    def remove(shared: Services) -> str:
        with IndexWriter.for_settings(shared.settings, shared.answers.retriever.embedder) as writer:
            article = writer.remove(context.args[0])
        return f"Removed {article.id}: {article.title}"

    await update.effective_message.reply_text(await index_job(context, remove))


@admin_only
async def on_reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text("Re-indexing every article; answers keep coming from the current index…")

    def rebuild(shared: Services) -> str:
        with IndexWriter.for_settings(shared.settings, shared.answers.retriever.embedder) as writer:
            count = writer.rebuild()
        return f"Re-indexed {count} articles with {shared.answers.retriever.embedder.model_id}."

    await update.effective_message.reply_text(await index_job(context, rebuild))


@admin_only
async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    reader: IndexReader = services(context).answers.retriever.reader
    stats = await asyncio.to_thread(reader.stats)
    lines = [
        f"Articles: {stats['articles']}",
        f"Passages: {stats['passages']}",
        f"Model: {stats['model']} ({stats['dimension']} dimensions)",
        f"Index size: {stats['bytes'] / 1_000_000:.1f} MB",
        f"Newest article: {stats['newest_published'] or 'no dates'}",
    ]
    await update.effective_message.reply_text("\n".join(lines))
