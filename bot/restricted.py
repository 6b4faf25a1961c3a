"""Commands only the bot's admins (ADMIN_IDS) may use, with a refusal that says what the command does."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot import updates
from bot.services import services

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def admins_only(refusal: str) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if not services(context).is_admin(update.effective_user.id if update.effective_user else None):
                await updates.message(update).reply_text(refusal)
                return
            await handler(update, context)

        return guarded

    return decorate
