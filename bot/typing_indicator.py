"""Shows "typing…" in a chat while a block of work runs (Telegram clears it after about 5 seconds)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

REPEAT_SECONDS = 4.5


FIRST_ACTION_SECONDS = 2.0  # how long a finished block waits for its first "typing" request to go out


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int, thread_id: int | None = None) -> AsyncIterator[None]:
    """The first action goes out even when the work is done before it is sent (a fast answer): Telegram shows
    "typing…" until the message arrives."""
    first_sent = asyncio.Event()

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
            first_sent.set()
            await asyncio.sleep(REPEAT_SECONDS)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first_sent.wait(), FIRST_ACTION_SECONDS)
        task.cancel()
