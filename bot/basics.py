"""/start, /help and /sources."""

from __future__ import annotations

import asyncio

from telegram import BotCommand, Update
from telegram.ext import ContextTypes

from bot.render import article_line, split_messages
from bot.replies import reply_html
from bot.services import services

READER_COMMANDS = [
    BotCommand("start", "What this bot does"),
    BotCommand("help", "How to ask, and the commands"),
    BotCommand("ask", "Ask a question about the articles"),
    BotCommand("sources", "The latest indexed articles"),
    BotCommand("brief", "A cited briefing: /brief [topic] [since]"),
]
ADMIN_COMMANDS = [
    BotCommand("add", "Index article URLs, or upload a file (caption “replace”: it replaces your last file of that name)"),
    BotCommand("remove", "Remove an article by id or URL"),
    BotCommand("reindex", "Re-embed every article"),
    BotCommand("stats", "Index statistics"),
    BotCommand("schedule", "Schedule a briefing: /schedule @chat daily 08:00 [topic]"),
    BotCommand("schedules", "List scheduled briefings"),
    BotCommand("unschedule", "Cancel a scheduled briefing"),
    BotCommand("feed", "RSS/Atom feeds: /feed add|list|remove|poll"),
]
LATEST = 15

WELCOME = (
    "I answer questions about the news articles I have indexed, and cite every claim with a numbered source.\n\n"
    "Ask me anything, e.g. “who denied the deployment?”. In groups, mention me or reply to me, or use /ask.\n"
    "When the articles don't say, I tell you so."
)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(WELCOME)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    commands = READER_COMMANDS + (ADMIN_COMMANDS if services(context).is_admin(update.effective_user.id) else [])
    lines = [WELCOME, ""] + [f"/{c.command} — {c.description}" for c in commands]
    await update.effective_message.reply_text("\n".join(lines))


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    articles = await asyncio.to_thread(services(context).wiring.store.articles, LATEST)
    if not articles:
        await update.effective_message.reply_text("No articles are indexed yet.")
        return
    lines = [f"<code>{a.id}</code> {article_line(a)}" for a in articles]
    await reply_html(update.effective_message, split_messages(["<b>Latest articles</b>\n" + "\n".join(lines)]))
