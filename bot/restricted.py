"""Commands only the bot's admins (ADMIN_IDS) may use, with a refusal that names the command refused."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot import updates
from bot.services import services

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def admins_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not services(context).is_admin(update.effective_user.id if update.effective_user else None):
            message = updates.message(update)
            await message.reply_text(refusal(message))
            return
        await handler(update, context)

    return guarded


def refusal(message: Message) -> str:
    """"Only the bot's admins can use /stats ...": the command sent (a file, for an upload)."""
    text = message.text or ""
    what = text.split()[0].partition("@")[0] if text.startswith("/") else "uploads to index articles"
    return f"Only the bot's admins can use {what}; /help shows what you can do."
