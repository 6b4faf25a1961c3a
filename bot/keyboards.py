"""The buttons under an answer: Sources (the exact quotes) and 👍 / 👎 feedback."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

SOURCES = "sources"
VOTE = "vote"


def answer_keyboard(answer_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Sources", callback_data=f"{SOURCES}:{answer_id}"),
                InlineKeyboardButton("👍", callback_data=f"{VOTE}:{answer_id}:up"),
                InlineKeyboardButton("👎", callback_data=f"{VOTE}:{answer_id}:down"),
            ]
        ]
    )
