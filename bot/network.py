"""Flood limits and network failures: PTB's AIORateLimiter, plus retries with back-off for requests that
failed before Telegram could act on them (so nothing is ever sent twice).

Telegram's limits are per bot (about 30 messages a second overall, 20 a minute in a group), however many
processes send for it. With `workers` (the heartbeat table of a state database that several workers share),
each worker writes a heartbeat every HEARTBEAT_SECONDS and keeps to its share of the budget: the limits divided
by the number of live workers. Nothing is asked of the database per message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

from state.workers import Workers

log = logging.getLogger("newsbot.bot")
HEARTBEAT_SECONDS = 5.0


class RetryingRateLimiter(AIORateLimiter):
    def __init__(
        self,
        network_retries: int = 3,
        first_delay: float = 1.0,
        workers: Workers | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        overall_max_rate: float = FloodLimit.MESSAGES_PER_SECOND,
        group_max_rate: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        **kwargs: Any,
    ):
        super().__init__(overall_max_rate=overall_max_rate, group_max_rate=group_max_rate, **kwargs)
        self.network_retries = network_retries
        self.first_delay = first_delay
        self.budget = (overall_max_rate, group_max_rate)  # the bot's, per second overall and per minute per group
        self.workers = workers
        self.heartbeat_seconds = heartbeat_seconds
        self.sharing = 1  # workers the budget is divided among
        self._heartbeat: asyncio.Task | None = None

    def share(self, workers: int) -> None:
        """Keeps this process to its part of the bot's budget when `workers` processes send for it. PTB's limiters
        have fixed rates: new ones replace them (AIORateLimiter's `_base_limiter`, `_group_max_rate` and
        `_group_limiters`; requests already waiting finish at the old rate)."""
        workers = max(1, workers)
        if workers == self.sharing:
            return
        overall, group = self.budget
        self.sharing = workers
        self._base_limiter = AsyncLimiter(overall / workers, 1)
        self._group_max_rate = group / workers
        self._group_limiters = {}
        log.info("%d workers send for the bot: this one keeps to %.1f messages a second", workers, overall / workers)

    async def initialize(self) -> None:
        await super().initialize()
        if self.workers is not None:
            await self._beat(self.workers)
            self._heartbeat = asyncio.create_task(self._beating(self.workers))

    async def shutdown(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
            if self.workers is not None:  # always: only a limiter with workers beats
                await self._leave(self.workers)
        await super().shutdown()

    async def _leave(self, workers: Workers) -> None:
        try:
            await asyncio.to_thread(workers.leave)
        except Exception as error:  # the database is gone: the others notice when the heartbeat stops
            log.warning("could not sign this worker off: %s", error)

    async def _beat(self, workers: Workers) -> None:
        self.share(await asyncio.to_thread(workers.beat, time.time()))

    async def _beating(self, workers: Workers) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self._beat(workers)
            except Exception as error:  # the database is unreachable for a moment: keep the share
                log.warning("worker heartbeat failed (the share of Telegram's limits stays as it was): %s", error)

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
