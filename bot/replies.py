"""Sending rendered HTML: link previews off, split messages, the keyboard under the last part."""

from __future__ import annotations

from html import escape

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode

from bot.render import split_messages

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def reply_html(to: Message, parts: list[str], keyboard: InlineKeyboardMarkup | None = None) -> Message:
    """Replies with each part in turn (in the same forum topic); returns the last message sent."""
    sent = to
    for number, part in enumerate(parts, start=1):
        sent = await to.reply_text(
            part,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=keyboard if number == len(parts) else None,
            do_quote=number == 1,
        )
    return sent


async def reply_plain(to: Message, text: str) -> Message:
    """Replies with plain `text` (a report of many lines, each naming what an admin sent) in as many messages as
    it takes."""
    return await reply_html(to, split_messages([escape(text, quote=False)]))


async def replace_html(message: Message, parts: list[str], keyboard: InlineKeyboardMarkup | None = None) -> Message:
    """Edits `message` to show the first part and sends the rest after it."""
    await message.edit_text(
        parts[0],
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=keyboard if len(parts) == 1 else None,
    )
    return await reply_html(message, parts[1:], keyboard) if len(parts) > 1 else message


async def send_html(bot: Bot, chat_id: int | str, parts: list[str]) -> None:
    """Posts each part to a chat (not as a reply): briefings to channels, reports to admins."""
    for part in parts:
        await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
