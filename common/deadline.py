"""A moment by which a wait must end, made where the wait starts (a question's arrival, a briefing's start) and
passed down to whatever waits: queueing, the LLM's first token, its last."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    at: float  # on time.monotonic()'s clock (asyncio's loops use the same)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at
