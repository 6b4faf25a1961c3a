"""The bot token never appears in logs, not even in tracebacks or httpx's request lines."""

from __future__ import annotations

import logging

from bot.app import configure_logging

TOKEN = "123456:SECRET-token-value"


def test_the_token_is_redacted_from_messages_and_tracebacks(capsys):
    configure_logging(TOKEN)
    try:
        logging.getLogger("httpx").warning("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"failed to reach https://api.telegram.org/bot{TOKEN}/sendMessage")
        except RuntimeError:
            logging.getLogger("newsbot.bot").exception("handler failed")
        logged = capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
    assert TOKEN not in logged
    assert "bot<token>/getMe" in logged and "bot<token>/sendMessage" in logged and "handler failed" in logged
