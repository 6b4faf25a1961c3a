"""Running the real bot Application against the Telegram emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.ext import Application

from bot.app import build_application
from tests.http_server import LOCAL_NETWORKS
from tests.telegram_emulator import TelegramEmulator
from wiring.parts import Wiring
from wiring.settings import Settings


def bot_settings(emu: TelegramEmulator, base: Settings, tmp_path, **overrides) -> Settings:
    return base.model_copy(
        update={
            "telegram_bot_token": emu.token,
            "telegram_base_url": emu.base_url,
            "telegram_base_file_url": emu.base_file_url,
            "bot_state_path": tmp_path / "bot.sqlite",
            "uploads_dir": tmp_path / "uploads",
            "allow_private_networks": LOCAL_NETWORKS,  # the test page server
            **overrides,
        }
    )


@asynccontextmanager
async def running_bot(wiring: Wiring) -> AsyncIterator[Application]:
    application = build_application(wiring)
    async with application:
        await application.post_init(application)  # as run_polling does
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


@asynccontextmanager
async def running_worker(wiring: Wiring) -> AsyncIterator[Application]:
    """The bot's Application with its JobQueue running and no updates fetched: one more worker on the same
    state (only one process may poll the emulator; webhook workers get their updates over HTTP)."""
    application = build_application(wiring)
    async with application:
        await application.start()
        try:
            yield application
        finally:
            await application.stop()
