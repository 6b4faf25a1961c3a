"""What the answering core returns: answers with numbered citations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import tzinfo
from typing import Any, Literal

from common.deadline import Deadline
from index.types import Filters

# Why the fallback (extractive) answerer wrote an answer instead: the LLM did not finish before the deadline, was
# unreachable (and is being tried again), failed otherwise, or wrote nothing the passages support.
Fallback = Literal["deadline", "unavailable", "error", "ungrounded"]


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    source: str
    url: str | None
    published: str | None
    passage: str
    sentences: tuple[str, ...] = ()  # the sentences of `passage` the answer quotes or draws on, verbatim


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    answerer: str = "extractive"
    latency_ms: float = 0.0
    note: str = ""  # how old the answer's information is, when that matters; also at the end of `text`
    fallback: Fallback | None = None  # why the answerer's text was replaced by the fallback's (None: it wasn't)

    def as_json(self) -> dict[str, Any]:
        """{"question", "answer" (without the note), "abstained", "citations" (each with the "sentences" it quotes),
        "answerer", "latency_ms", "note", "fallback"}"""
        fields = asdict(self)
        text = fields.pop("text")
        return {
            "question": self.question,
            "answer": text.removesuffix(f"\n\n{self.note}") if self.note else text,
            **{k: v for k, v in fields.items() if k != "question"},
        }


@dataclass(frozen=True)
class AnswerOptions:
    """How one question is answered where it differs from the service's defaults (a chat's settings, a deadline)."""

    sources: tuple[str, ...] = ()  # only articles from these outlets
    topic: str = ""  # only passages about this topic
    time_zone: tzinfo | None = None  # of time words in the question; None: the service's
    detailed: bool = False  # a longer answer
    extractive: bool = False  # quote the passages (the fallback answerer) instead of having the answerer write
    deadline: Deadline | None = None  # when the answerer must have finished (None: its own, LLM_DEADLINE from now)

    def filters(self) -> Filters | None:
        return Filters(sources=self.sources) if self.sources else None
