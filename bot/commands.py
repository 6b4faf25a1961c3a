"""Every command the bot takes, before its handler: counted against COMMANDS_PER_MINUTE (bot/limits.py), and
refused in one line naming the limit when what follows it is longer than the command takes. Replies echo what
a command was given (an outlet, a topic, a link, an id): bounding it here keeps every such reply within
Telegram's 4,096 characters, whichever handler writes it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine
from typing import Any

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.limits import command_refused

ARGUMENT_CHARS = 1_000  # after most commands: an outlet, a topic, a time zone, a schedule, a feed's number
# Commands that take more: links (a URL may be 2,000 characters; /add takes several) and questions (never echoed).
LONGER_ARGUMENTS: dict[str, int | None] = {"add": 3_000, "remove": 2_100, "feed": 2_100, "ask": None}

Gate = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def gate(commands: Collection[str]) -> Gate:
    """The check run before the handlers of `commands` (and, in a private chat, of any command: it gets a reply)."""

    async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        called = command_of(message, context.bot.username, commands) if message else None
        if message is None or called is None:
            return
        if await command_refused(update, context):
            raise ApplicationHandlerStop
        name, arguments = called
        limit = LONGER_ARGUMENTS.get(name, ARGUMENT_CHARS)
        if limit is not None and len(arguments) > limit:
            await message.reply_text(
                f"/{name} takes at most {limit:,} characters after it, and this one has {len(arguments):,}; "
                "send it shorter."
            )
            raise ApplicationHandlerStop

    return check


def command_of(message: Message, bot_username: str, commands: Collection[str]) -> tuple[str, str] | None:
    """(command, what follows it) when `message` is a command for this bot: one of `commands` (any command in a
    private chat), addressed to no bot or to this one; None for anything else (a command for another bot)."""
    text, entities = message.text or "", message.entities
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset != 0:
        return None
    name, _, addressee = text[1 : entities[0].length].lower().partition("@")
    if addressee and addressee != bot_username.lower():
        return None
    if name not in commands and message.chat.type != ChatType.PRIVATE:
        return None
    return name, text[entities[0].length :].strip()
