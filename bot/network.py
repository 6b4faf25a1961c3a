"""Flood limits and network failures: PTB's AIORateLimiter, plus retries with back-off for requests that
failed before Telegram could act on them (so nothing is ever sent twice)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger("newsbot.bot")


class RetryingRateLimiter(AIORateLimiter):
    def __init__(self, network_retries: int = 3, first_delay: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.network_retries = network_retries
        self.first_delay = first_delay

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        for attempt in range(self.network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NetworkError as error:
                # BadRequest is Telegram refusing the request; after TimedOut it may have been carried out.
                if isinstance(error, BadRequest | TimedOut) or attempt == self.network_retries:
                    raise
                delay = self.first_delay * 2**attempt
                log.warning("%s failed (%s); retrying in %.1f s", endpoint, error, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
