"""Where every LLM request of a process runs: on one event loop in a daemon thread (LangChain's clients keep
their connections per process, and a connection serves one loop), at most `concurrency` at once, each bounded
by its deadline (the wait for a free slot included) and by a cap on what is read. When the
deadline passes, the cap is reached or the reader stops reading, the request is cancelled and its connection
closed, which makes a streaming server stop generating at once (llama.cpp notices between two tokens).

The answering core runs in worker threads and reads the text through a queue, so it stays synchronous."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol, cast

from common.deadline import Deadline
from common.errors import LLMTooSlow

MAX_TOKEN_CHARACTERS = 8  # what is read stops at max_tokens × this many characters, however the text is chunked
GRACE_SECONDS = 0.1  # the reader waits this much past the deadline for the loop's own timeout to say so
_END = object()
_started = threading.Lock()
_loops: list[asyncio.AbstractEventLoop] = []  # the process's one loop, once started


class StreamingModel(Protocol):
    """What the runner needs of a chat model (LangChain's BaseChatModel has it)."""

    def astream(self, input: Any, config: Any = None, *, stop: list[str] | None = None) -> AsyncIterator[Any]: ...


class LLMRunner:
    """The process's LLM requests; `concurrency`: how many may be in flight (LLM_CONCURRENCY)."""

    def __init__(self, concurrency: int = 1):
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)

    def stream(
        self,
        model: StreamingModel,
        messages: Sequence[tuple[str, str]],
        deadline: Deadline,
        max_tokens: int,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """The text the model writes, chunk by chunk, until it ends or `max_tokens` chunks were read (a chunk is
        one token on llama.cpp and OpenAI, more elsewhere) or max_tokens × 8 characters; LLMTooSlow when the
        deadline passes first. The model's own errors are raised as they are. Call it from any thread but the
        loop's."""
        if deadline.passed:
            raise LLMTooSlow("the deadline had passed before the LLM was asked")
        handover: queue.SimpleQueue[object] = queue.SimpleQueue()
        request = self._read(model, list(messages), deadline, max_tokens, list(stop), handover.put)
        running = asyncio.run_coroutine_threadsafe(request, _loop())
        try:
            while (item := _next(handover, deadline)) is not _END:
                yield str(item)
        finally:
            running.cancel()  # the reader stopped early (the deadline, an error, or it read enough)

    async def _read(
        self,
        model: StreamingModel,
        messages: list[tuple[str, str]],
        deadline: Deadline,
        max_tokens: int,
        stop: list[str],
        put: Callable[[object], None],
    ) -> None:
        try:
            async with asyncio.timeout_at(deadline.at), self._slots:
                stream = cast(AsyncGenerator[Any, None], model.astream(messages, stop=stop or None))  # it is one
                async with contextlib.aclosing(stream) as chunks:
                    read = characters = 0
                    async for chunk in chunks:
                        if text := chunk.text:  # the text parts of the chunk's content
                            put(text)
                            read, characters = read + 1, characters + len(text)
                            if read >= max_tokens or characters >= max_tokens * MAX_TOKEN_CHARACTERS:
                                break  # closing the stream closes the connection: the server stops
            put(_END)
        except TimeoutError:
            put(LLMTooSlow("the LLM did not finish before the deadline"))
        except Exception as error:  # handed to the reading thread, which raises it
            put(error)


def _next(handover: queue.SimpleQueue[object], deadline: Deadline) -> object:
    try:
        item = handover.get(timeout=deadline.remaining() + GRACE_SECONDS)
    except queue.Empty:
        raise LLMTooSlow("the LLM did not finish before the deadline") from None
    if isinstance(item, BaseException):
        raise item
    return item


def _loop() -> asyncio.AbstractEventLoop:
    with _started:
        if not _loops:
            _loops.append(asyncio.new_event_loop())
            threading.Thread(target=_loops[0].run_forever, name="llm-requests", daemon=True).start()
        return _loops[0]
