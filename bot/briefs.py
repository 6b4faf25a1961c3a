"""/brief [topic] [since]: a digest of the newest stories, or of those on a topic, in any chat."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from answers.timeframes import day_text, parse
from bot.briefing_render import briefing_messages
from bot.replies import reply_html
from bot.services import services
from bot.typing_indicator import typing
from briefings.types import Briefing


async def on_brief(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    wiring = services(context).wiring
    message = update.effective_message
    timeframe, topic = parse(" ".join(context.args or []), wiring.answers.today())
    async with typing(context.bot, message.chat_id, message.message_thread_id if message.is_topic_message else None):
        briefing = await asyncio.to_thread(wiring.briefer.brief, topic, timeframe)
    await reply_html(message, briefing_messages(briefing, heading(briefing, day_text(wiring.answers.today()))))


def heading(briefing: Briefing, day: str) -> str:
    subject = briefing.subject()
    return f"Briefing {subject} — {day}" if subject else f"Briefing — {day}"
