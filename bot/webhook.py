"""Webhook mode: Telegram posts updates to WEBHOOK_URL; this process serves them at /telegram, next to
GET /healthz (the index is readable and the Bot API reachable: 200, else 503 saying why; within 2 s), for load
balancers and container health checks. PTB's documented custom webhook setup: a Starlette app on uvicorn feeds
the Application's update queue (PTB's own webhook server has no room for another route)."""

from __future__ import annotations

import asyncio
import hmac

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.services import KEY
from bot.startup import StartupError, check_telegram

WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_SECONDS = 1.5  # for each check (they run together): /healthz answers within 2 s


def webhook_app(application: Application, secret: str) -> Starlette:
    """The webhook (an update without `secret` in its header gets 403) and /healthz."""
    settings = application.bot_data[KEY].settings

    async def telegram(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return Response(status_code=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return Response("not a Telegram update", status_code=400)
        await application.update_queue.put(update)
        return Response()

    async def healthz(_: Request) -> JSONResponse:
        results = await asyncio.gather(_index_readable(application), _telegram_reachable(application))
        checks = {
            name: result.replace(settings.telegram_bot_token, "<token>")
            for name, result in zip(("index", "telegram"), results, strict=True)
        }
        healthy = all(result == "ok" for result in checks.values())
        return JSONResponse({"ok": healthy, **checks}, status_code=200 if healthy else 503)

    return Starlette(routes=[Route(WEBHOOK_PATH, telegram, methods=["POST"]), Route("/healthz", healthz)])


async def _index_readable(application: Application) -> str:
    """The index read from where it is kept, past every cache (store.probe)."""
    store = application.bot_data[KEY].wiring.store
    try:
        await asyncio.wait_for(asyncio.to_thread(store.probe), HEALTH_SECONDS)
    except TimeoutError:
        return f"error: the index was not read within {HEALTH_SECONDS:g} s"
    except Exception as error:  # whatever keeps the index from being read makes the process unhealthy
        return f"error: {str(error) or type(error).__name__}"
    return "ok"


async def _telegram_reachable(application: Application) -> str:
    """getMe, straight to the Bot API: not through the bot's rate limiter, which retries a failed connection
    for seconds (what the bot's own requests should do, not a health check)."""
    settings = application.bot_data[KEY].settings
    try:
        await asyncio.wait_for(check_telegram(settings, HEALTH_SECONDS), HEALTH_SECONDS)
    except TimeoutError:
        return f"error: the Bot API did not answer within {HEALTH_SECONDS:g} s"
    except (StartupError, TelegramError) as error:
        return f"error: {str(error) or type(error).__name__}"
    return "ok"


class WebhookServer(uvicorn.Server):
    """uvicorn stops on SIGINT or SIGTERM, then raises the signal again for a process manager above it: here
    that would kill the process (SIGTERM) or cancel the Application's stop (SIGINT) before the bot has finished
    its updates and signed off. Its stopping is the bot's to finish, so the signal is not raised again."""

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def webhook_server(application: Application, secret: str) -> uvicorn.Server:
    settings = application.bot_data[KEY].settings
    config = uvicorn.Config(
        webhook_app(application, secret),
        host=settings.webhook_listen,
        port=settings.webhook_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    return WebhookServer(config)


async def serve_webhook(application: Application, server: uvicorn.Server, secret: str) -> None:
    """Runs the bot in webhook mode until `server` stops (SIGINT/SIGTERM, or should_exit): registers the webhook
    with Telegram, then serves it. The one place webhook mode starts."""
    settings = application.bot_data[KEY].settings
    async with application:
        if application.post_init:  # as PTB's run_polling calls it (build_application always sets one)
            await application.post_init(application)
        await application.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        await application.start()
        try:
            await server.serve()
        finally:
            await application.stop()


def run_webhook(application: Application, secret: str) -> None:
    asyncio.run(serve_webhook(application, webhook_server(application, secret), secret))
