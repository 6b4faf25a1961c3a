"""The buttons under answers: Sources shows the cited passages; 👍 / 👎 are stored as feedback. A button works
only in the chat of its answer, on the message that carries it, with the answer's unguessable token; any other
data, forged or malformed, gets "this button has expired"."""

from __future__ import annotations

import asyncio

from telegram import MaybeInaccessibleMessage, Message, Update
from telegram.ext import ContextTypes

from bot import updates
from bot.keyboards import Sources, parse_button
from bot.render import quotes_messages
from bot.replies import reply_html, send_html
from bot.services import services

THANKS = {"up": "Thanks! Glad it helped.", "down": "Thanks — noted. We use this to improve answers."}
EXPIRED = "This button has expired. Ask the question again for a fresh answer."


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = updates.query(update)
    button, message = parse_button(query.data), query.message
    conversations = services(context).wiring.conversations
    stored = None
    if button is not None and message is not None:  # messages sent via inline mode carry no answer buttons of ours
        # Telegram's own copy of the message shows its buttons: when it has this one, the message carries it
        # (even before the bot has recorded which message it was); an old message shows none: its id must match.
        message_id = None if _carries(message, query.data) else message.message_id
        stored = await asyncio.to_thread(conversations.button_answer, button.token, message.chat.id, message_id)
    if button is None or message is None or stored is None:
        await query.answer(EXPIRED, show_alert=True)
        return
    answer_id, text, citations = stored
    if isinstance(button, Sources):
        await query.answer()
        quotes = quotes_messages(text, citations)
        if isinstance(message, Message):
            await reply_html(message, quotes)
        else:  # too old for Telegram to show it to the bot: posted without quoting it
            await send_html(context.bot, message.chat.id, quotes)
    else:
        await asyncio.to_thread(conversations.record_feedback, answer_id, query.from_user.id, button.vote)
        await query.answer(THANKS[button.vote])


def _carries(message: MaybeInaccessibleMessage, data: str | None) -> bool:
    keyboard = getattr(message, "reply_markup", None)
    return keyboard is not None and any(
        button.callback_data == data for row in keyboard.inline_keyboard for button in row
    )
