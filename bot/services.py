"""What the handlers share, kept in `application.bot_data`: settings, the answering service, the bot's state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from telegram.ext import ContextTypes

from answers.core import AnswerService
from bot.state import BotState
from newsbot.settings import Settings

KEY = "newsbot"


@dataclass
class Services:
    settings: Settings
    answers: AnswerService
    state: BotState
    index_job: asyncio.Lock = field(default_factory=asyncio.Lock)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data[KEY]
