"""Network failures are retried with back-off; refusals and possibly-delivered requests are not."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.network import RetryingRateLimiter


def failing(times: int, error: Exception):
    calls = []

    async def send_message(*args, **kwargs):
        calls.append(args)
        if len(calls) <= times:
            raise error
        return {"ok": True}

    return send_message, calls


async def process(limiter: RetryingRateLimiter, callback):
    await limiter.initialize()
    try:
        return await limiter.process_request(callback, (), {}, "sendMessage", {"chat_id": 1}, None)
    finally:
        await limiter.shutdown()


async def test_connection_failures_are_retried_until_the_request_goes_through():
    callback, calls = failing(2, NetworkError("httpx.ConnectError: connection refused"))
    assert await process(RetryingRateLimiter(first_delay=0.01), callback) == {"ok": True}
    assert len(calls) == 3


async def test_retries_give_up_after_the_last_attempt():
    callback, calls = failing(10, NetworkError("httpx.ConnectError: connection refused"))
    with pytest.raises(NetworkError):
        await process(RetryingRateLimiter(network_retries=2, first_delay=0.01), callback)
    assert len(calls) == 3


@pytest.mark.parametrize("error", [BadRequest("Message is too long"), TimedOut("read timed out")])
async def test_refusals_and_timeouts_are_not_retried(error):
    callback, calls = failing(1, error)
    with pytest.raises(type(error)):
        await process(RetryingRateLimiter(first_delay=0.01), callback)
    assert len(calls) == 1
