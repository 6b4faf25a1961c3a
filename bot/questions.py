"""Questions: every text in a private chat; in groups only when the bot is mentioned, replied to, or /ask."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from html import escape

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import updates
from bot.chat_settings import answer_options, scope_note
from bot.keyboards import answer_keyboard
from bot.limits import refused
from bot.question_log import log_question
from bot.render import answer_messages
from bot.replies import replace_html, reply_html
from bot.services import services
from bot.streaming import stream_answer
from bot.typing_indicator import typing
from common.deadline import Deadline

ASK_USAGE = "Ask a question after the command, for example: /ask who denied the deployment?"


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await answer(update, context, updates.text(update))


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    question = addressed_question(updates.message(update), context.bot.username, context.bot.id)
    if question is not None:
        await answer(update, context, question)


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    question = " ".join(context.args or []).strip()
    if not question:
        await updates.message(update).reply_text(ASK_USAGE)
        return
    await answer(update, context, question)


def addressed_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question when the message mentions the bot or replies to it; None for other chatter."""
    text = message.text or ""
    mention = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
    replied_to_bot = (
        message.reply_to_message is not None
        and message.reply_to_message.from_user is not None
        and (message.reply_to_message.from_user.id == bot_id)
    )
    if not mention.search(text) and not replied_to_bot:
        return None
    return " ".join(mention.sub(" ", text).split()) or None


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    shared = services(context)
    deadline = Deadline.after(shared.settings.llm_deadline)  # waiting for a thread and the LLM counts too
    wiring = shared.wiring
    message, chat, user = updates.message(update), updates.chat(update), updates.user(update)
    if await refused(update, context, uses_llm=True):
        return
    chosen = await asyncio.to_thread(wiring.chat_settings.get, chat.id)
    options = replace(answer_options(chosen), deadline=deadline)
    history = await asyncio.to_thread(wiring.conversations.history, chat.id, user.id)
    shown = None
    async with typing(context.bot, chat.id, message.message_thread_id if message.is_topic_message else None):
        if not wiring.answers.answerer.streams:
            result = await asyncio.to_thread(wiring.answers.answer, question, history, None, options)
        else:
            interval = (
                shared.settings.stream_edit_seconds_private
                if chat.type == ChatType.PRIVATE
                else shared.settings.stream_edit_seconds_group
            )
            result, shown = await stream_answer(wiring.answers, question, history, options, message, interval)
    token = await asyncio.to_thread(wiring.conversations.remember, chat.id, user.id, result)
    log_question(chat.type, result, shared.settings.log_questions)
    keyboard = None if result.abstained else answer_keyboard(token)
    parts = answer_messages(result)
    if result.abstained and scope_note(chosen):
        parts[-1] += "\n\n" + escape(scope_note(chosen), quote=False)
    if shown is not None:
        sent = await replace_html(shown, parts, keyboard)
    else:
        sent = await reply_html(message, parts, keyboard)
    if keyboard is not None:  # the buttons work on this message only
        await asyncio.to_thread(wiring.conversations.shown, token, sent.chat_id, sent.message_id)
