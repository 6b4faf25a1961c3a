"""Wiring: the Application, its handlers and commands, and how it runs (long polling or webhook)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future

from telegram import (
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    Update,
)
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import (
    access,
    admin,
    basics,
    briefs,
    buttons,
    chat_settings,
    commands,
    feeds,
    history,
    inline,
    questions,
    schedules,
    uploads,
)
from bot.errors import RedactingFormatter, on_error
from bot.limits import limited
from bot.network import RetryingRateLimiter
from bot.services import KEY, Services
from bot.startup import bot_token, check_before_start
from bot.webhook import run_webhook
from common.errors import SettingsError
from state.workers import Workers
from wiring.parts import Wiring

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TOKEN_REJECTED = (
    "Telegram rejected TELEGRAM_BOT_TOKEN (wrong, or revoked); get the bot's current token from @BotFather "
    "(/mybots → your bot → API Token) and set TELEGRAM_BOT_TOKEN in .env"
)


def build_application(wiring: Wiring, interrupted: Callable[[], bool] = lambda: False) -> Application:
    """The Application with its handlers and jobs. `interrupted`: see run_bot (checked once the Application has
    taken over the signals: a Ctrl-C that came just before it did stops it then)."""
    settings = wiring.settings

    async def started(application: Application) -> None:
        await register_commands(application)
        if interrupted():
            raise KeyboardInterrupt  # PTB's run_polling stops on it; webhook mode leaves the same way
    application = (
        ApplicationBuilder()
        .token(bot_token(settings))
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .rate_limiter(
            RetryingRateLimiter(
                max_retries=3,
                workers=shared_workers(wiring),
                overall_max_rate=settings.telegram_messages_per_second,
            )
        )
        .concurrent_updates(True)
        .post_init(started)
        .build()
    )
    application.bot_data[KEY] = Services(wiring)
    add_handlers(application)
    schedules.restore(application, wiring)
    feeds.start_polling(application, settings)
    history.start_purging(application)
    return application


def shared_workers(wiring: Wiring) -> Workers | None:
    """The heartbeat table when several workers may share the bot (a PostgreSQL state database); None on SQLite,
    where one process runs the bot."""
    return wiring.workers if wiring.database.dialect == "postgresql" else None


COMMANDS = {
    "start": basics.on_start,
    "help": basics.on_help,
    "sources": basics.on_sources,
    "reset": basics.on_reset,
    "new": basics.on_reset,
    "ask": questions.on_ask,
    "add": admin.on_add,
    "remove": admin.on_remove,
    "reindex": admin.on_reindex,
    "stats": admin.on_stats,
    "brief": briefs.on_brief,
    "schedule": schedules.on_schedule,
    "schedules": schedules.on_schedules,
    "unschedule": schedules.on_unschedule,
    "feed": feeds.on_feed,
}


def add_handlers(application: Application) -> None:
    # Before any handler (each group's first matching handler runs): the allowlists, then every command counted
    # and its length bounded.
    application.add_handler(TypeHandler(Update, access.gate), group=-2)
    application.add_handler(TypeHandler(Update, commands.gate({*COMMANDS, "settings"})), group=-1)
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback))
    # In a channel only its admins can post: /settings there sets the channel's time zone for briefings.
    posts = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
    application.add_handler(CommandHandler("settings", chat_settings.on_settings, posts))
    application.add_handler(CallbackQueryHandler(limited(uses_llm=False)(buttons.on_button)))
    application.add_handler(InlineQueryHandler(inline.on_inline_query))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL, uploads.on_document))
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & text, questions.on_private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & text, questions.on_group_text))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, basics.on_unknown))
    application.add_error_handler(on_error)


async def register_commands(application: Application) -> None:
    """Commands Telegram shows in its menu: readers' commands for everyone, /settings too for the admins of a
    chat (in a private chat, its user), and the bot's admin commands in its admins' private chats."""
    bot = application.bot
    readers, chat_admins = basics.READER_COMMANDS, basics.READER_COMMANDS + basics.CHAT_ADMIN_COMMANDS
    await bot.set_my_commands(readers, scope=BotCommandScopeDefault())
    await bot.set_my_commands(chat_admins, scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(chat_admins, scope=BotCommandScopeAllChatAdministrators())
    for admin_id in application.bot_data[KEY].settings.admin_ids:
        try:
            await bot.set_my_commands(chat_admins + basics.ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:  # an admin who has not started a chat with the bot yet
            logging.getLogger("newsbot.bot").warning("admin commands not shown to %s: %s", admin_id, error)


def configure_logging(token: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(token, LOG_FORMAT))
    handler.addFilter(_no_traceback_for_a_rejected_token)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for chatty in ("httpx", "openai", "apscheduler"):  # a line per request, per retry, per job run
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _no_traceback_for_a_rejected_token(record: logging.LogRecord) -> bool:
    """PTB logs a rejected token with its traceback; the one line of run_bot says it all."""
    if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
        record.exc_info, record.exc_text = None, None
    return True


def run_bot(wiring: Wiring, preparing: Future | None = None, interrupted: Callable[[], bool] = lambda: False) -> None:
    """Starts the bot once the Bot API and the answerer have been checked (one line saying what to fix if not):
    long polling, or webhook mode with WEBHOOK_URL. `preparing`: see check_before_start. `interrupted`: whether a
    Ctrl-C came while the bot started (it stops between two steps of the start: KeyboardInterrupt)."""
    settings = wiring.settings
    configure_logging(bot_token(settings))
    try:
        check_before_start(wiring, preparing, interrupted)
        application = build_application(wiring, interrupted)
        if settings.webhook_url:
            run_webhook(application, webhook_secret(wiring))
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:  # its message quotes the token
        raise SettingsError(TOKEN_REJECTED) from None


def webhook_secret(wiring: Wiring) -> str:
    """WEBHOOK_SECRET, else one made for this installation and kept in the state database: Telegram sends it
    with every update and the webhook answers 403 to requests without it, so that no one else can post
    updates to the bot; every worker sharing the state database registers the same one."""
    return wiring.settings.webhook_secret or wiring.secrets.get("webhook")
