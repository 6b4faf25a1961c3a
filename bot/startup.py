"""Checks made before the bot starts, each failing with one line that says what to fix."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future

from telegram import Bot
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from common.errors import NewsbotError
from wiring.settings import Settings

CONNECT_SECONDS = 15.0


class StartupError(NewsbotError):
    """The bot can't start as configured."""


async def check_telegram(settings: Settings) -> None:
    """The Bot API answers getMe (the token's own problems are reported where the token is checked)."""
    request = HTTPXRequest(connect_timeout=CONNECT_SECONDS, read_timeout=CONNECT_SECONDS)
    bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_base_url, request=request)
    try:
        await bot.get_me()
    except NetworkError as error:
        reason = str(error).replace(settings.telegram_bot_token, "<token>")
        raise StartupError(
            f"can't reach the Telegram Bot API at {settings.telegram_base_url.removesuffix('/bot')} ({reason}); "
            "check the network (a proxy or firewall?) and TELEGRAM_BASE_URL"
        ) from None
    finally:
        await request.shutdown()


def check_before_start(wiring, preparing: Future | None = None) -> None:
    """The Bot API is reachable and the answerer works (an LLM configured and reachable), before the first
    update; with LLM_FALLBACK=extractive an unusable LLM only makes answers extractive (logged, and in /stats).
    `preparing`: `wiring.prepare_answers()` already under way in another thread; else it runs here."""
    asyncio.run(check_telegram(wiring.settings))
    if preparing is None:
        wiring.prepare_answers()
    else:
        preparing.result()
    if wiring.answerer_problem:
        logging.getLogger("newsbot.bot").warning(
            "answering extractively (LLM_FALLBACK=extractive): %s", wiring.answerer_problem
        )
