"""Per-user limits: QUESTIONS_PER_MINUTE on questions, /brief and button presses, with an LLM answering
LLM_QUESTIONS_PER_DAY on questions and /brief, and COMMANDS_PER_MINUTE on every command. A sender past a question
limit gets one polite line saying when to try again; past the command limit, one such line a minute and nothing
else. Counted per user, or per sender chat for anonymous group admins and channels; the bot's admins are not
limited. The counts live in the state database (state/limits.py), shared by every worker."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime

from telegram import Update
from telegram.ext import ContextTypes

from bot import updates
from bot.restricted import Handler
from bot.services import Services, services
from state.limits import DAY, MINUTE, Limit, Refusal


def subject(update: Update) -> str:
    """Whom a limit counts: the chat a message is sent as (an anonymous admin's group, a channel), else the user
    (who pressed the button, asked inline, or sent the message)."""
    message = update.message or update.channel_post
    if message is not None and message.sender_chat is not None:
        return f"chat:{message.sender_chat.id}"
    return f"user:{updates.user(update).id}"


async def wait_text(update: Update, context: ContextTypes.DEFAULT_TYPE, uses_llm: bool) -> str | None:
    """Counts one action of the sender; when a limit is used up, the line saying when to try again instead."""
    shared = services(context)
    if _from_admin(update, shared):
        return None
    now = shared.wiring.clock()
    refusal = await asyncio.to_thread(shared.wiring.limits.take, subject(update), _limits(shared, uses_llm), now)
    return describe(refusal, now) if refusal else None


def _from_admin(update: Update, shared: Services) -> bool:
    user = update.effective_user
    return not subject(update).startswith("chat:") and user is not None and shared.is_admin(user.id)


def _limits(shared: Services, uses_llm: bool) -> list[Limit]:
    settings = shared.settings
    limits = [Limit("questions", settings.questions_per_minute, MINUTE)]
    if uses_llm and shared.wiring.answerer.metered:
        limits.append(Limit("llm", settings.llm_questions_per_day, DAY))
    return limits


async def command_refused(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Counts one command of the sender against COMMANDS_PER_MINUTE; True when the sender is past it. Only the
    window's first refusal is told: a flood of commands gets one line, not one per command."""
    shared = services(context)
    if _from_admin(update, shared):
        return False
    now = shared.wiring.clock()
    limit = Limit("commands", shared.settings.commands_per_minute, MINUTE)
    refusal = await asyncio.to_thread(shared.wiring.limits.take, subject(update), [limit], now)
    if refusal is None:
        return False
    if refusal.first:
        await updates.message(update).reply_text(describe(refusal, now))
    return True


def describe(refusal: Refusal, now: datetime) -> str:
    wait = refusal.wait_seconds(now)
    if refusal.limit.kind == "commands":
        return (
            f"You're sending commands faster than I can keep up: at most {refusal.limit.allowed} a minute. I'll "
            f"take commands from you again in {wait} second{'s' if wait != 1 else ''}."
        )
    if refusal.limit.kind == "llm":
        hours, minutes = divmod((wait + 59) // 60, 60)
        allowed = refusal.limit.allowed
        return (
            f"You've asked the {allowed} question{'s' if allowed != 1 else ''} you have for today. Please try "
            f"again after {refusal.retry_at:%H:%M} UTC (in {hours} h {minutes} min)."
        )
    return (
        f"You're asking faster than I can keep up: at most {refusal.limit.allowed} a minute. "
        f"Please try again in {wait} second{'s' if wait != 1 else ''}."
    )


async def refused(update: Update, context: ContextTypes.DEFAULT_TYPE, uses_llm: bool) -> bool:
    """True, after telling the sender when to try again, when the sender is past a limit; counts it otherwise."""
    text = await wait_text(update, context, uses_llm)
    if text is None:
        return False
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await updates.message(update).reply_text(text)
    return True


def limited(uses_llm: bool) -> Callable[[Handler], Handler]:
    """A handler whose every call is counted (button presses; /brief)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def counted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if not await refused(update, context, uses_llm):
                await handler(update, context)

        return counted

    return decorate
