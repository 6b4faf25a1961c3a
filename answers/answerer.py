"""What an answerer is. The answering service retrieves and judges the evidence; an answerer writes the text.

`ExtractiveAnswerer` (answers/extractive.py) quotes the best sentences and needs no LLM; `LLMAnswerer`
(answers/llm.py) has a chat model write, and is checked against the passages. Which one answers is a
setting (`ANSWERER`), looked up in the registry the composition root keeps (wiring/parts.py).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import date
from typing import Protocol

from answers.evidence import Evidence
from answers.timeframes import Timeframe
from answers.types import Citation, Turn
from common.deadline import Deadline
from index.types import Passage

Written = Generator[str, None, str | None]  # yields text as it is written; returns the whole text, None to abstain


class Answerer(Protocol):
    name: str  # what answers and the log call it
    streams: bool  # whether its text comes a bit at a time (worth showing as it is written)
    metered: (
        bool  # whether each question spends a budgeted resource (an LLM's calls): LLM_QUESTIONS_PER_DAY counts them
    )

    def check(self) -> None:
        """Nothing when it can answer; AnswererError saying what to set when it can't (a missing key, an
        unreachable server). Run once, before the first question."""
        ...

    def answer(
        self,
        question: str,
        history: Sequence[Turn],
        evidence: Evidence,
        today: date,
        detailed: bool = False,
        deadline: Deadline | None = None,
    ) -> Written:
        """The answer, with `[n]` markers citing `evidence.passages` (1-based); None when the passages don't
        answer; "" when nothing usable was written (the service then quotes the passages instead). `detailed`:
        a longer answer than the usual one to three sentences. Past `deadline` (None: the answerer's own), an
        answerer that waits for something raises LLMTooSlow."""
        ...

    def summarise(self, passages: list[Passage], sentences: int, deadline: Deadline | None = None) -> str:
        """A few sentences telling the story the passages report, cited `[n]` as above; "" if none (also when
        `deadline` passes first)."""
        ...


class Story(Protocol):
    """One story of a digest: a headline and a few sentences citing `citations` as `[n]`."""

    @property
    def headline(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def citations(self) -> list[Citation]: ...


class Digest(Protocol):
    @property
    def items(self) -> Sequence[Story]: ...


class Digests(Protocol):
    """What tells the stories of a period or a topic (briefings.core.Briefer, given by the composition root):
    general news questions are answered with its digest."""

    def brief(
        self,
        topic: str = "",
        timeframe: Timeframe | None = None,
        indexed_after: int | None = None,
        sources: tuple[str, ...] = (),
        until: date | None = None,
    ) -> Digest: ...
