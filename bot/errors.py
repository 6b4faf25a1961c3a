"""A failing handler never stops the bot: the user gets a short apology, the log gets the details."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

log = logging.getLogger("newsbot.bot")
APOLOGY = "Sorry, something went wrong while answering. Please try again."


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    details = _describe(update)
    log.error("handler failed for %s", details, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_text(APOLOGY)
        except TelegramError:
            log.warning("could not tell the user about the failure (%s)", details)


def _describe(update: object) -> str:
    if not isinstance(update, Update):
        return repr(update)
    chat = update.effective_chat.id if update.effective_chat else None
    user = update.effective_user.id if update.effective_user else None
    return f"update {update.update_id} (chat {chat}, user {user})"


class RedactingFormatter(logging.Formatter):
    """Keeps the bot token out of every log line and traceback (httpx logs request URLs, which contain it)."""

    def __init__(self, token: str, fmt: str):
        super().__init__(fmt)
        self.token = token

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace(self.token, "<token>")
