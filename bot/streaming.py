"""Streams an LLM answer into one Telegram message, editing it at most once per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from html import escape

from telegram import Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter

from answers.core import AnswerService
from answers.types import Answer, AnswerOptions, Turn

WRITING = " …"
_DONE = object()


async def stream_answer(
    service: AnswerService,
    question: str,
    history: Sequence[Turn],
    options: AnswerOptions,
    reply_to: Message,
    interval: float,
) -> tuple[Answer, Message | None]:
    """The final answer, and the message that shows the text streamed so far (None if nothing was shown).
    Flood control only delays the next edit: the final edit always carries the whole answer."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def produce() -> None:
        try:
            for event in service.stream(question, history, None, options):
                loop.call_soon_threadsafe(events.put_nowait, event)
        except Exception as error:  # handed to the event loop, which raises it in the handler
            loop.call_soon_threadsafe(events.put_nowait, error)

    producer = loop.run_in_executor(None, produce)
    shown, text, next_edit = None, "", time.monotonic() + interval
    while True:
        event = await events.get()
        if isinstance(event, Exception):
            raise event
        if isinstance(event, Answer):
            await producer
            return event, shown
        text += event
        if time.monotonic() >= next_edit and text.strip():
            shown, delay = await _show(reply_to, shown, text)
            next_edit = time.monotonic() + max(interval, delay)


async def _show(reply_to: Message, shown: Message | None, text: str) -> tuple[Message | None, float]:
    html = escape(text.strip()[:4000], quote=False) + WRITING
    try:
        if shown is None:
            return await reply_to.reply_text(html, parse_mode=ParseMode.HTML, do_quote=True), 0.0
        await shown.edit_text(html, parse_mode=ParseMode.HTML)
    except RetryAfter as flood:
        wait = flood.retry_after  # a timedelta (PTB_TIMEDELTA, set in bot/__init__.py)
        return shown, wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise
    return shown, 0.0
