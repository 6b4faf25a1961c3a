"""The buttons under answers: Sources shows the cited passages; 👍 / 👎 are stored as feedback."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from bot.keyboards import SOURCES, VOTE
from bot.render import quotes_messages
from bot.replies import reply_html
from bot.services import services

THANKS = {"up": "Thanks! Glad it helped.", "down": "Thanks — noted. We use this to improve answers."}


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    kind, answer_id, *rest = (query.data or "").split(":")
    conversations = services(context).wiring.conversations
    stored = await asyncio.to_thread(conversations.answer, int(answer_id)) if answer_id.isdigit() else None
    if stored is None:
        await query.answer("That answer is no longer available.", show_alert=True)
        return
    if kind == SOURCES:
        await query.answer()
        await reply_html(query.message, quotes_messages(*stored))
    elif kind == VOTE and rest and rest[0] in THANKS:
        await asyncio.to_thread(conversations.record_feedback, int(answer_id), query.from_user.id, rest[0])
        await query.answer(THANKS[rest[0]])
    else:
        await query.answer("Unknown button.")
