"""The buttons under an answer: Sources (the exact quotes) and 👍 / 👎 feedback. Their data carries the
answer's random token (state/conversations.py), never a guessable id."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

SOURCES = "sources"
VOTE = "vote"
_BUTTON = re.compile(rf"^(?:({SOURCES}):([A-Za-z0-9_-]{{16,64}})|({VOTE}):([A-Za-z0-9_-]{{16,64}}):(up|down))$")


@dataclass(frozen=True)
class Sources:
    token: str


@dataclass(frozen=True)
class Vote:
    token: str
    vote: str  # up or down


Button = Sources | Vote


def answer_keyboard(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Sources", callback_data=f"{SOURCES}:{token}"),
                InlineKeyboardButton("👍", callback_data=f"{VOTE}:{token}:up"),
                InlineKeyboardButton("👎", callback_data=f"{VOTE}:{token}:down"),
            ]
        ]
    )


def parse_button(data: str | None) -> Button | None:
    """The button `data` names, or None when it is not one of ours (malformed, forged, from older versions)."""
    match = _BUTTON.match(data or "")
    if match is None:
        return None
    if match[1]:
        return Sources(match[2])
    return Vote(match[4], match[5])
