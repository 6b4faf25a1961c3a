"""What a briefing is: one item per story, each with its cited sources."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from answers.timeframes import Timeframe
from answers.types import Citation


@dataclass(frozen=True)
class BriefingItem:
    headline: str
    text: str  # a few sentences, each with `[n]` markers
    citations: list[Citation]

    def as_json(self) -> dict[str, Any]:
        return {"headline": self.headline, "text": self.text, "citations": [asdict(c) for c in self.citations]}


@dataclass(frozen=True)
class Briefing:
    items: list[BriefingItem]
    topic: str = ""
    timeframe: Timeframe | None = None

    def subject(self) -> str:
        """What the briefing covers, e.g. "on Ellery, since 11 Nov 2024"; "" for the newest articles."""
        parts = (f"on {self.topic}" if self.topic else "", self.timeframe.describe() if self.timeframe else "")
        return ", ".join(part for part in parts if part)

    def as_json(self) -> dict[str, Any]:
        """{"items": [{"headline", "text", "citations": [...as in answers...]}]}"""
        return {"items": [item.as_json() for item in self.items]}
