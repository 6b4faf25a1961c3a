"""Allowlists: when ALLOWED_USER_IDS or ALLOWED_CHAT_IDS is set, other chats get one polite line and nothing else."""

from __future__ import annotations

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import updates
from bot.services import services

NOT_ALLOWED = "Sorry, this bot is private. Ask its owner to add this chat."


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    settings = services(context).settings
    if not (settings.allowed_user_ids or settings.allowed_chat_ids):
        return
    chat, user = update.effective_chat, update.effective_user
    allowed = (chat is not None and chat.id in settings.allowed_chat_ids) or (
        user is not None and (user.id in settings.allowed_user_ids or services(context).is_admin(user.id))
    )
    if allowed:
        return
    if update.callback_query:
        await update.callback_query.answer(NOT_ALLOWED, show_alert=True)
    elif update.effective_message and _addressed(update, context):
        await update.effective_message.reply_text(NOT_ALLOWED)
    raise ApplicationHandlerStop


def _addressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    message = updates.message(update)
    text = message.text or message.caption or ""
    return (
        updates.chat(update).type == ChatType.PRIVATE
        or text.startswith("/")
        or f"@{context.bot.username}".lower() in text.lower()
        or _replies_to_bot(message, context.bot.id)
    )


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    """Whether `message` replies to the bot; a reply to a post sent on behalf of a chat (a channel post, an
    anonymous admin) has no user to compare."""
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot_id
