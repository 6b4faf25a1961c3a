"""OpenAI-compatible servers that misbehave, over real HTTP on 127.0.0.1 (aiohttp in a thread of its own), each
under its own path of one server (`base_url(kind)`):

- `silent`: reads the request and sends nothing at all (no status line) until the client goes away;
- `trickle`: answers 200 and streams one token every `interval` seconds (`tok0 `, `tok1 `, ...), up to `tokens`;
- `unauthorized`: 401 `invalid_api_key`, in OpenAI's error format;
- `no_model`: 404 `model_not_found`, in OpenAI's error format;

and each lists one model at GET /models.

Each request is recorded (`requests`): when it arrived, its body, how many tokens were sent, and when the client
closed the connection, so that a test can wait for the close (the server would then stop generating)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.llm_server import free_port

NOTICE_SECONDS = 0.05  # how often a waiting handler looks whether the client is gone (aiohttp doesn't cancel it)


@dataclass
class Request:
    kind: str
    body: dict[str, Any]
    authorization: str  # the Authorization header sent
    arrived: float  # time.monotonic()
    closed: float | None = None  # when the client closed the connection; None: not (yet) seen
    tokens_sent: int = 0


@dataclass
class FakeLLM:
    interval: float = 3.0  # seconds between two of the trickle's tokens
    tokens: int = 100
    model: str = "smollm2"  # the one model GET /models lists
    requests: list[Request] = field(default_factory=list)

    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None

    def base_url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/v1"

    def __enter__(self) -> FakeLLM:
        threading.Thread(target=self._serve, name="fake-llm", daemon=True).start()
        if not self._ready.wait(20):
            raise RuntimeError("the fake LLM server did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/silent/v1/chat/completions", self._silent)
        app.router.add_post("/trickle/v1/chat/completions", self._trickle)
        app.router.add_post("/unauthorized/v1/chat/completions", self._unauthorized)
        app.router.add_post("/no_model/v1/chat/completions", self._no_model)
        app.router.add_get("/{kind}/v1/models", self._models)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    async def _record(self, kind: str, request: web.Request) -> Request:
        seen = Request(kind, await request.json(), request.headers.get("Authorization", ""), time.monotonic())
        self.requests.append(seen)
        return seen

    async def _silent(self, request: web.Request) -> web.StreamResponse:
        seen = await self._record("silent", request)
        while not _gone(request):
            await asyncio.sleep(NOTICE_SECONDS)
        seen.closed = time.monotonic()
        raise asyncio.CancelledError  # nothing was ever sent, nothing to send

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        seen = await self._record("trickle", request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        model = seen.body.get("model", "fake")
        try:
            await response.write(_chunk(model, {"role": "assistant", "content": ""}))
            for n in range(self.tokens):
                until = time.monotonic() + self.interval
                while time.monotonic() < until:
                    if _gone(request):
                        raise ConnectionResetError
                    await asyncio.sleep(min(NOTICE_SECONDS, self.interval))
                await response.write(_chunk(model, {"content": f"tok{n} "}))
                seen.tokens_sent += 1
            await response.write(_chunk(model, {}, "stop"))
            await response.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            seen.closed = time.monotonic()
            raise asyncio.CancelledError from None
        return response

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _unauthorized(self, request: web.Request) -> web.Response:
        await self._record("unauthorized", request)
        return _error(401, "Incorrect API key provided.", "invalid_api_key")

    async def _no_model(self, request: web.Request) -> web.Response:
        seen = await self._record("no_model", request)
        message = f"The model `{seen.body.get('model')}` does not exist or you do not have access to it."
        return _error(404, message, "model_not_found")


def _gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def _chunk(model: str, delta: dict[str, str], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


def _error(status: int, message: str, code: str) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return web.json_response({"error": error}, status=status)
