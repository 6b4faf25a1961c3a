"""Checks made before the bot starts, each failing with one line that says what to fix."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future

from telegram import Bot
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from common.errors import NewsbotError, SettingsError
from wiring.settings import Settings

CONNECT_SECONDS = 15.0
TOKEN_MISSING = "TELEGRAM_BOT_TOKEN is not set; get one from @BotFather and set it in .env to run the bot"


class StartupError(NewsbotError):
    """The bot can't start as configured."""


def bot_token(settings: Settings) -> str:
    """TELEGRAM_BOT_TOKEN, which the bot can't run without (`newsbot run` without one starts the terminal chat)."""
    if not settings.telegram_bot_token:
        raise SettingsError(TOKEN_MISSING)
    return settings.telegram_bot_token


async def check_telegram(settings: Settings) -> None:
    """The Bot API answers getMe (the token's own problems are reported where the token is checked)."""
    request = HTTPXRequest(connect_timeout=CONNECT_SECONDS, read_timeout=CONNECT_SECONDS)
    token = bot_token(settings)
    bot = Bot(token, base_url=settings.telegram_base_url, request=request)
    try:
        await bot.get_me()
    except NetworkError as error:
        reason = str(error).replace(token, "<token>")
        raise StartupError(
            f"can't reach the Telegram Bot API at {settings.telegram_base_url.removesuffix('/bot')} ({reason}); "
            "check the network (a proxy or firewall?) and TELEGRAM_BASE_URL"
        ) from None
    finally:
        await request.shutdown()


def check_before_start(wiring, preparing: Future | None = None) -> None:
    """The Bot API is reachable and the answerer works (an LLM configured and reachable), before the first
    update; with LLM_FALLBACK=extractive an unusable LLM only makes answers extractive (logged, and in /stats).
    `preparing`: the answers warming up in another thread, the answerer settled before (`newsbot run`); else
    `wiring.prepare_answers()` does both here."""
    asyncio.run(check_telegram(wiring.settings))
    if preparing is None:
        wiring.prepare_answers()
    else:
        preparing.result()
    if wiring.answerer_problem:
        until = "" if wiring.answerer_replaced else " until the LLM answers"
        logging.getLogger("newsbot.bot").warning(
            "answering extractively%s (LLM_FALLBACK=extractive): %s", until, wiring.answerer_problem
        )
