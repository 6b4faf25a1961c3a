"""/settings: a chat's answer length, outlet or topic filter and time zone, changed by the chat's own admins
(Telegram's, asked with getChatMember; the bot's admins too). Anyone in the chat may look at them."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from answers.types import AnswerOptions
from bot import updates
from bot.render import echoed
from bot.schedules import reschedule_chat
from bot.services import Services, services
from common.clock import time_zone
from common.errors import NewsbotError
from index.types import Filters
from state.chat_settings import LENGTHS, ChatSettings

MAX_TOPIC = 100
USAGE = (
    "The chat's admins change them with:\n"
    "/settings length short|detailed\n"
    "/settings outlet NAME (answers only from that outlet's articles; /sources shows outlets), or all\n"
    "/settings topic WORDS (answers only about that topic), or any\n"
    "/settings timezone Europe/Berlin (for “yesterday”, “this week” and briefings), or default"
)
REFUSAL = "Only this chat's admins can change its settings with /settings."
RESETS = {"outlet": "all", "topic": "any", "timezone": "default"}


def answer_options(chosen: ChatSettings) -> AnswerOptions:
    """What a chat's settings mean to the answering core."""
    return AnswerOptions(
        sources=(chosen.outlet,) if chosen.outlet else (),
        topic=chosen.topic,
        time_zone=time_zone(chosen.time_zone) if chosen.time_zone else None,
        detailed=chosen.length == "detailed",
    )


def scope_note(chosen: ChatSettings) -> str:
    """For an abstention in a chat that narrows answers: which articles were searched; "" otherwise."""
    limits = ([f"from {chosen.outlet}"] if chosen.outlet else []) + (
        [f"about “{chosen.topic}”"] if chosen.topic else []
    )
    return f"This chat only searches articles {' and '.join(limits)} (/settings)." if limits else ""


async def on_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    shared, message, chat = services(context), updates.message(update), updates.chat(update)
    args = context.args or []
    store = shared.wiring.chat_settings
    if not args:
        chosen = await asyncio.to_thread(store.get, chat.id)
        await message.reply_text(describe(chosen, shared.settings.time_zone) + "\n\n" + USAGE)
        return
    if not await may_change(context, shared, chat, update.effective_user, message):
        await message.reply_text(REFUSAL)
        return
    name, value = args[0].lower(), " ".join(args[1:]).strip()
    try:
        field, stored = await checked(shared, name, value)
    except NewsbotError as error:  # one line saying what to use (the usage too, for a setting there is not)
        await message.reply_text(str(error))
        return
    by = update.effective_user.id if update.effective_user else chat.id
    chosen = await asyncio.to_thread(store.change, chat.id, field, stored, by, shared.wiring.clock())
    if field == "time_zone":
        reschedule_chat(context.application, shared.wiring, chat.id)
    await message.reply_text("Saved. " + describe(chosen, shared.settings.time_zone))


def describe(chosen: ChatSettings, default_zone: str) -> str:
    return "\n".join(
        [
            "Settings of this chat:",
            f"• Answer length: {chosen.length}",
            f"• Outlet: {chosen.outlet or 'all outlets'}",
            f"• Topic: {chosen.topic or 'any'}",
            f"• Time zone: {chosen.time_zone or default_zone + ' (the bot’s default)'}",
        ]
    )


async def checked(shared: Services, name: str, value: str) -> tuple[str, str]:
    """The setting `name` names and the value to store ("" for the default); NewsbotError saying what's wrong."""
    reset = value.lower() == RESETS.get(name)
    if name == "length":
        if value.lower() not in LENGTHS:
            raise NewsbotError(f"“{echoed(value)}” is not an answer length: use short or detailed.")
        return "length", value.lower()
    if name == "outlet":
        if not reset and not value:
            raise NewsbotError("Name the outlet, e.g. /settings outlet Reuters, or /settings outlet all.")
        if not reset and not await asyncio.to_thread(shared.wiring.store.articles, 1, Filters(sources=(value,))):
            raise NewsbotError(
                f"No indexed article is from “{echoed(value)}”; /sources shows the outlets of the latest ones."
            )
        return "outlet", "" if reset else value
    if name == "topic":
        if not value or len(value) > MAX_TOPIC:
            raise NewsbotError(f"Give the topic in a few words (at most {MAX_TOPIC} characters), or “any”.")
        return "topic", "" if reset else value
    if name in ("timezone", "time_zone", "tz"):
        return "time_zone", "" if value.lower() == "default" else known_zone(value)
    raise NewsbotError(f"There is no setting “{echoed(name)}”.\n\n{USAGE}")


def known_zone(value: str) -> str:
    try:
        time_zone(value)
    except ValueError:
        raise NewsbotError(
            f"“{echoed(value)}” is not a time zone: use an IANA name such as Europe/Berlin or UTC, or default."
        ) from None
    return value


async def may_change(
    context: ContextTypes.DEFAULT_TYPE, shared: Services, chat: Chat, user: User | None, message: Message
) -> bool:
    """Whether the sender administers this chat: a private chat's user, anyone posting in a channel (only its
    admins can), an anonymous admin (a message sent as the group itself), a Telegram admin of the group, or one
    of the bot's admins."""
    if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL) or (message.sender_chat and message.sender_chat.id == chat.id):
        return True
    if user is None:
        return False
    if shared.is_admin(user.id):
        return True
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
