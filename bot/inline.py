"""Inline mode: "@bot question" in any chat offers the cited answer as one result to send into that chat.

Inline queries carry no chat, so chat allowlists can't apply: with ALLOWED_USER_IDS only those users (and the
bot's admins) get answers, and when only ALLOWED_CHAT_IDS restricts the bot, inline mode is off. Telegram sends
a query per keystroke: very short queries are ignored, and a query is answered only if the user has typed
nothing more for a moment (each user's newest query is kept in the state database, since any worker may get
any keystroke). Telegram drops answers that come too late, so an LLM that has not finished within LLM_SECONDS
(inline answers' own deadline, shorter than LLM_DEADLINE) gives way to the extractive answer. Answers are cached
for a while, by Telegram (cache_time) and here, per question and per process: another worker computes the same
answer again, and a cached answer costs nothing, so it does not count against the user's limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import replace

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from answers.core import AnswerService
from answers.types import Answer, AnswerOptions
from bot import updates
from bot.limits import wait_text
from bot.question_log import log_question
from bot.render import answer_messages
from bot.replies import NO_PREVIEW
from bot.services import Services, services
from common.deadline import Deadline

MIN_CHARACTERS, MIN_WORDS = 8, 2  # shorter queries are someone still typing
SETTLE_SECONDS = 0.7  # a query is answered when no newer one from the same user came within this time
LLM_SECONDS = 6.0  # then the extractive answer (Telegram gives up on an answer after about 10 s)
CACHE_SECONDS = 120
MAX_CACHED = 500
TITLE_CHARACTERS = 64
DESCRIPTION_CHARACTERS = 120


def inline_allowed(shared: Services, user_id: int) -> bool:
    settings = shared.settings
    if settings.allowed_user_ids:
        return user_id in settings.allowed_user_ids or shared.is_admin(user_id)
    return not settings.allowed_chat_ids


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, shared = updates.inline_query(update), services(context)
    personal = bool(shared.settings.allowed_user_ids)  # else Telegram may show one user's cached answer to all
    if not inline_allowed(shared, query.from_user.id):
        await query.answer([], cache_time=0, is_personal=True)
        return
    question = " ".join(query.query.split())
    if len(question) < MIN_CHARACTERS or len(question.split()) < MIN_WORDS:
        return
    latest = shared.wiring.inline_queries  # in the state database: the user's next keystroke may go to another worker
    await asyncio.to_thread(latest.note, query.from_user.id, query.id, update.update_id, shared.wiring.clock())
    await asyncio.sleep(SETTLE_SECONDS)
    if not await asyncio.to_thread(latest.take, query.from_user.id, query.id):
        return  # the user typed on: the newer query is answered instead
    key = question.lower()
    cached = _cached(shared, key)
    if cached is None:
        wait = await wait_text(update, context, uses_llm=True)
        if wait is not None:
            notice = InlineQueryResultArticle("wait", "Please wait", InputTextMessageContent(wait), description=wait)
            await query.answer([notice], cache_time=0, is_personal=True)
            return
        answer, complete = await timely_answer(shared.wiring.answers, question)
        log_question("inline", answer, shared.settings.log_questions)
        cached = inline_result(answer)
        if complete:
            _remember(shared, key, cached)
    await query.answer([cached], cache_time=CACHE_SECONDS, is_personal=personal)


async def timely_answer(service: AnswerService, question: str) -> tuple[Answer, bool]:
    """The answer, and whether it is the one to keep (False: the extractive one, the LLM being too slow: its
    request is cancelled at LLM_SECONDS)."""
    options = AnswerOptions(deadline=Deadline.after(LLM_SECONDS))
    answer = await asyncio.to_thread(service.answer, question, (), None, options)
    return answer, answer.fallback != "deadline"


def inline_result(answer: Answer) -> InlineQueryResultArticle:
    """The answer (or the abstention) as one article result: the message it sends is the answer as in a chat."""
    result_id = hashlib.sha256(answer.question.lower().encode()).hexdigest()[:32]
    return InlineQueryResultArticle(
        result_id,
        _cut(answer.question, TITLE_CHARACTERS),
        InputTextMessageContent(one_message(answer), parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW),
        description=_cut(answer.text.split("\n\n")[0], DESCRIPTION_CHARACTERS),
    )


def one_message(answer: Answer) -> str:
    """The answer's HTML in one message: the text is shortened, if need be, so that the sources fit too."""
    text = answer.text
    parts = answer_messages(answer)
    while len(parts) > 1 and len(text) > 1:
        text = _cut(text, len(text) * 4 // 5)
        parts = answer_messages(replace(answer, text=text))
    return parts[0]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _cached(shared: Services, key: str) -> InlineQueryResultArticle | None:
    found = shared.inline_answers.get(key)
    if found is None or found[0] < time.monotonic():
        return None
    return found[1]


def _remember(shared: Services, key: str, result: InlineQueryResultArticle) -> None:
    answers = shared.inline_answers
    if len(answers) >= MAX_CACHED:
        now = time.monotonic()
        for stale in [k for k, (expires, _) in answers.items() if expires < now] or list(answers)[: MAX_CACHED // 2]:
            del answers[stale]
    answers[key] = (time.monotonic() + CACHE_SECONDS, result)
