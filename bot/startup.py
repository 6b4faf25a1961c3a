"""Checks made before the bot starts. What may pass (the network, DNS, the Bot API or a database server down
for a while: a machine booting, an outage) is tried again with growing waits, one warning line each, for as long
as it takes; anything else (a rejected token, an LLM that is misconfigured, a damaged index) stops the start with
one line that says what to fix."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from telegram import Bot
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from common.errors import NewsbotError, SettingsError, UnreachableError
from wiring.settings import Settings

T = TypeVar("T")
CONNECT_SECONDS = 15.0
FIRST_RETRY_SECONDS = 1.0  # the wait after the first failure; it doubles after each one ...
LONGEST_RETRY_SECONDS = 60.0  # ... up to this
INTERRUPT_POLL_SECONDS = 0.2  # how often a wait looks for a Ctrl-C
TOKEN_MISSING = "TELEGRAM_BOT_TOKEN is not set; get one from @BotFather and set it in .env to run the bot"
log = logging.getLogger("newsbot.bot")


class StartupError(NewsbotError):
    """The bot can't start as configured."""


class TelegramUnreachableError(StartupError, UnreachableError):
    """The Bot API does not answer (the network, DNS, a proxy, Telegram itself)."""


def bot_token(settings: Settings) -> str:
    """TELEGRAM_BOT_TOKEN, which the bot can't run without (`newsbot run` without one starts the terminal chat)."""
    if not settings.telegram_bot_token:
        raise SettingsError(TOKEN_MISSING)
    return settings.telegram_bot_token


async def check_telegram(settings: Settings, seconds: float = CONNECT_SECONDS) -> None:
    """The Bot API answers getMe, connecting and reading within `seconds` each (the token's own problems are
    reported where the token is checked)."""
    request = HTTPXRequest(connect_timeout=seconds, read_timeout=seconds)
    token = bot_token(settings)
    bot = Bot(token, base_url=settings.telegram_base_url, request=request)
    try:
        await bot.get_me()
    except NetworkError as error:  # also a timeout, and Telegram's 5xx answers
        reason = str(error).replace(token, "<token>")
        raise TelegramUnreachableError(
            f"can't reach the Telegram Bot API at {settings.telegram_base_url.removesuffix('/bot')} ({reason}); "
            "check the network (a proxy or firewall?) and TELEGRAM_BASE_URL"
        ) from None
    finally:
        await request.shutdown()


def check_before_start(
    wiring, preparing: Future | None = None, interrupted: Callable[[], bool] = lambda: False
) -> None:
    """The Bot API is reachable, the answerer works (an LLM configured and reachable) and the bot state opens,
    before the first update, each tried again while it fails for a reason that may pass; with
    LLM_FALLBACK=extractive an unusable LLM only makes answers extractive (logged, and in /stats). `preparing`:
    `wiring.prepare_answers()` already under way in another thread; else it runs here (an LLM server that
    can't be reached is waited for LLM_START_WAIT seconds there). `interrupted`: whether a
    Ctrl-C came meanwhile (KeyboardInterrupt between two steps, and during a wait)."""
    retried(lambda: asyncio.run(check_telegram(wiring.settings)), interrupted)
    retried(_under_way_then_anew(preparing, wiring.prepare_answers), interrupted)
    retried(lambda: wiring.database, interrupted)
    if wiring.answerer_problem:
        until = "" if wiring.answerer_replaced else " until the LLM answers"
        logging.getLogger("newsbot.bot").warning(
            "answering extractively%s (LLM_FALLBACK=extractive): %s", until, wiring.answerer_problem
        )


def retried(
    attempt: Callable[[], T],
    interrupted: Callable[[], bool] = lambda: False,
    first: float = FIRST_RETRY_SECONDS,
    longest: float = LONGEST_RETRY_SECONDS,
) -> T:
    """`attempt()`, again and again while it raises UnreachableError: one warning line each time, and a wait that
    doubles from `first` to at most `longest` seconds. Any other error is raised at once; KeyboardInterrupt when
    `interrupted()` turns true, before an attempt or during a wait."""
    wait = first
    while True:
        _stop_if(interrupted)
        try:
            return attempt()
        except UnreachableError as error:
            log.warning("%s; trying again in %g s", error, wait)
        until = time.monotonic() + wait
        while time.monotonic() < until:
            _stop_if(interrupted)
            time.sleep(min(INTERRUPT_POLL_SECONDS, until - time.monotonic()))
        wait = min(2 * wait, longest)


def _stop_if(interrupted: Callable[[], bool]) -> None:
    if interrupted():
        raise KeyboardInterrupt


def _under_way_then_anew(under_way: Future | None, prepare: Callable[[], None]) -> Callable[[], None]:
    """The answers' preparation for `retried`: the one under way first (its outcome), then `prepare()` anew."""
    pending = [under_way] if under_way is not None else []

    def attempt() -> None:
        if pending:
            pending.pop().result()
        else:
            prepare()

    return attempt
