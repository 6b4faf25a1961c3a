"""/brief [topic] [since]: a digest of the newest stories, or of those on a topic, in any chat (in the chat's
time zone, from its outlet and on its topic when /settings chose them)."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from answers.timeframes import day_text, parse
from bot import updates
from bot.briefing_render import briefing_messages, heading
from bot.chat_settings import answer_options
from bot.limits import limited
from bot.replies import reply_html
from bot.services import services
from bot.typing_indicator import typing


@limited(uses_llm=True)
async def on_brief(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    wiring = services(context).wiring
    message = updates.message(update)
    options = answer_options(await asyncio.to_thread(wiring.chat_settings.get, message.chat_id))
    today = wiring.answers.today(options.time_zone)
    timeframe, topic = parse(" ".join(context.args or []), today)
    async with typing(context.bot, message.chat_id, message.message_thread_id if message.is_topic_message else None):
        briefing = await asyncio.to_thread(
            wiring.briefer.brief, topic or options.topic, timeframe, None, options.sources
        )
    await reply_html(message, briefing_messages(briefing, heading(briefing, day_text(today))))
