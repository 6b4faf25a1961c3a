"""What the handlers share, kept in `application.bot_data`: the process's wiring (settings, index, answers,
state) and whom the bot obeys."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from telegram.ext import ContextTypes

from wiring.parts import Wiring
from wiring.settings import Settings

KEY = "newsbot"


@dataclass
class Services:
    wiring: Wiring
    feed_poll: asyncio.Lock = field(default_factory=asyncio.Lock)
    inline_answers: dict = field(default_factory=dict)  # bot/inline.py: recent answers by question

    @property
    def settings(self) -> Settings:
        return self.wiring.settings

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data[KEY]
