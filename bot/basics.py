"""/start, /help, /reset (/new), /sources, and the one line for commands the bot doesn't know."""

from __future__ import annotations

import asyncio

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import updates
from bot.render import article_line, split_messages
from bot.replies import reply_html
from bot.services import services

READER_COMMANDS = [
    BotCommand("start", "What this bot does, and your user id"),
    BotCommand("help", "How to ask, and the commands"),
    BotCommand("ask", "Ask a question about the articles"),
    BotCommand("reset", "Forget our conversation in this chat (also /new)"),
    BotCommand("sources", "The latest indexed articles"),
    BotCommand("brief", "A cited briefing: /brief [topic] [since]"),
]
CHAT_ADMIN_COMMANDS = [
    BotCommand("settings", "This chat's answer length, outlet or topic, time zone"),
]
ADMIN_COMMANDS = [
    BotCommand(
        "add", "Index article URLs, or upload a file (caption “replace”: it replaces your last file of that name)"
    ),
    BotCommand("remove", "Remove an article by id or URL"),
    BotCommand("reindex", "Re-embed every article"),
    BotCommand("stats", "Index statistics, questions and feedback"),
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
    text = WELCOME
    user = update.effective_user
    if updates.chat(update).type == ChatType.PRIVATE and user is not None:
        text += f"\n\nYour Telegram user id is {user.id} (what the bot's owner puts in ADMIN_IDS)."
    await updates.message(update).reply_text(text)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    sections = [
        (f"Everyone (also inline: type @{context.bot.username} and a question in any chat)", READER_COMMANDS),
        ("This chat's admins (in a private chat, you)", CHAT_ADMIN_COMMANDS),
    ]
    if services(context).is_admin(user.id if user else None):
        sections.append(("The bot's admins", ADMIN_COMMANDS))
    lines = [WELCOME]
    for title, commands in sections:
        lines += ["", title] + [f"/{c.command} — {c.description}" for c in commands]
    await updates.message(update).reply_text("\n".join(lines))


async def on_reset(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, user = updates.chat(update), updates.user(update)
    shared = services(context)
    forgotten = await asyncio.to_thread(shared.wiring.conversations.forget, chat.id, user.id)
    if not forgotten:
        text = "There was nothing to forget: you have no earlier questions in this chat."
    else:
        text = (
            f"I've forgotten our conversation in this chat: your {forgotten} earlier "
            f"question{'s' if forgotten != 1 else ''} and my answers, which follow-up questions build on."
        )
    days = shared.settings.history_days
    await updates.message(update).reply_text(
        f"{text} Your next question starts afresh. Your conversations in other chats are kept; stored answers and "
        f"feedback are deleted after {days} day{'s' if days != 1 else ''}, as always."
    )


async def on_unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command no handler took: one line pointing to /help (in groups only when it names this bot, since a
    bare command there may be meant for another bot)."""
    message = updates.message(update)
    command, _, addressee = (message.text or "").split()[0].partition("@")
    if addressee.lower() != context.bot.username.lower() and (
        addressee or updates.chat(update).type != ChatType.PRIVATE
    ):
        return
    await message.reply_text(f"I don't know the command {command}. Send /help to see what I can do.")


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = updates.message(update)
    articles = await asyncio.to_thread(services(context).wiring.store.articles, LATEST)
    if not articles:
        await message.reply_text("No articles are indexed yet.")
        return
    lines = [f"<code>{a.id}</code> {article_line(a)}" for a in articles]
    await reply_html(message, split_messages(["<b>Latest articles</b>\n" + "\n".join(lines)]))
