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
from answers.types import Turn
from common.deadline import Deadline
from index.types import Passage

Written = Generator[str, None, str | None]  # yields text as it is written; returns the whole text, None to abstain


class Answerer(Protocol):
    name: str  # what answers and the log call it
    streams: bool  # whether its text comes a bit at a time (worth showing as it is written)
    metered: bool  # whether each question spends a budgeted resource (an LLM's calls): LLM_QUESTIONS_PER_DAY counts them

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
