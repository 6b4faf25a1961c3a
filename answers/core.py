"""The answering API shared by the CLI, the bot and the evaluation: question in, cited answer out."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, tzinfo

from answers import extractive, timeframes
from answers.citations import renumber
from answers.evidence import Evidence, QuestionTerms, gather
from answers.grounding import grounded
from answers.llm import LLMAnswerer, chat_model
from answers.recency import freshness_note, newest_coverage, whats_new_topic
from answers.retrieve import Filters, Retriever
from answers.timeframes import Timeframe
from answers.types import Answer, Citation, Turn
from index.embeddings import Embedder
from index.reader import IndexReader
from newsbot.settings import Settings

log = logging.getLogger("newsbot.answers")
ABSTAIN_TEXT = "The indexed articles don't say."
FOLLOW_UP = re.compile(
    r"^(and|but|also|so|then|what about|how about)\b|\b(he|she|it|they|them|his|her|its|their|that|those|this|these)\b",
    re.IGNORECASE,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class AnswerService:
    """Retrieves passages, decides whether they answer the question, and has the answerer write the answer.
    Time words in a question ("since Monday") are read relative to `clock()` in `time_zone`."""

    def __init__(
        self,
        retriever: Retriever,
        min_coverage: float,
        min_similarity: float,
        passages: int = 6,
        generator=None,
        time_zone: tzinfo = UTC,
        stale_after_days: int = 0,
        clock: Callable[[], datetime] = utc_now,
        coverage_weight: float = 0.0,
    ):
        self.retriever = retriever
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity  # the least similarity + coverage_weight × coverage that answers
        self.coverage_weight = coverage_weight
        self.passages = passages
        self.generator = generator  # an LLM answerer, or None for extractive answers only
        self.time_zone = time_zone
        self.stale_after_days = stale_after_days  # answers whose newest source is older get a note; 0: never
        self.clock = clock

    def warm_up(self) -> None:
        """Load the model and build the keyword index now rather than on the first question."""
        self.retriever.search("warm up", 1)

    @property
    def answerer(self) -> str:
        return self.generator.name if self.generator else "extractive"

    def today(self) -> date:
        return self.clock().astimezone(self.time_zone).date()

    def answer(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, filters):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Text as it is written (LLM answers), then the final, validated Answer."""
        started = time.perf_counter()
        asked, timeframe = (question, None) if filters else self.timeframe(question)
        evidence, unmatched = self.dated_evidence(asked, history, timeframe, filters)
        if not self.supported(evidence):
            yield self._abstain(question, started)
            return
        passages = [hit.passage for hit in evidence.passages]
        answerer, text = "extractive", extractive.compose(evidence)
        if self.generator is not None:
            try:
                generated = yield from self.generator.stream(question, history, passages)
            except Exception:  # the LLM is down or failing: the extractive answer still stands
                log.warning("the LLM failed; answering extractively", exc_info=True)
                generated = ""
            if self.generator.is_abstention(generated):
                yield self._abstain(question, started)
                return
            supported = grounded(generated, passages)
            if supported:
                answerer, text = self.generator.name, supported
        cited_text, citations = renumber(text, passages)
        note = self.note(citations, timeframe, unmatched)
        cited_text = f"{cited_text}\n\n{note}" if note else cited_text
        yield self._finish(
            Answer(question, cited_text, abstained=False, citations=citations, answerer=answerer), started
        )

    def timeframe(self, question: str) -> tuple[str, Timeframe | None]:
        """The question without its time words and the publication dates they name; for "What's new about X?",
        X and the days of its newest coverage."""
        timeframe, rest = timeframes.parse(question, self.today())
        topic = whats_new_topic(question) if timeframe is None else None
        if topic:
            return topic, newest_coverage(self.retriever, topic, self.min_coverage)
        return rest, timeframe

    def dated_evidence(
        self, question: str, history: Sequence[Turn], timeframe: Timeframe | None, filters: Filters | None
    ) -> tuple[Evidence, Timeframe | None]:
        """Evidence published within `timeframe` (else as `filters` say); when nothing from then answers, evidence
        from any date, and the time frame that went unmatched."""
        evidence = self.evidence(question, history, timeframe.filters() if timeframe else filters)
        if timeframe and not self.supported(evidence):
            return self.evidence(question, history), timeframe
        return evidence, None

    def note(self, citations: list[Citation], timeframe: Timeframe | None, unmatched: Timeframe | None) -> str:
        """How old the answer's information is, when that matters; "" otherwise."""
        closed_period = timeframe is not None and timeframe.end is not None and unmatched is None
        stale_after = 0 if closed_period else self.stale_after_days  # "in October" asks for old news
        return freshness_note(citations, self.today(), stale_after, unmatched)

    def evidence(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Evidence:
        context = history[-1].question if history and is_follow_up(question) else ""
        hits = self.retriever.search(f"{context} {question}".strip(), self.passages, filters)
        return gather(question, hits, QuestionTerms(question, context))

    def supported(self, evidence: Evidence) -> bool:
        return (
            bool(evidence.sentences)
            and not evidence.missing_names
            and evidence.coverage >= self.min_coverage
            and evidence.similarity + self.coverage_weight * evidence.coverage >= self.min_similarity
        )

    def _abstain(self, question: str, started: float) -> Answer:
        return self._finish(Answer(question, ABSTAIN_TEXT, abstained=True, answerer=self.answerer), started)

    @staticmethod
    def _finish(answer: Answer, started: float) -> Answer:
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer


def build_service(settings: Settings, embedder: Embedder | None = None) -> AnswerService:
    """The answering service the settings describe: index, embedder, retriever and answerer."""
    embedder = embedder or Embedder(
        settings.embedding_model, settings.embedding_backend, settings.embedding_batch_size, settings.model_cache_dir
    )
    retriever = Retriever(IndexReader(settings.index_dir, embedder.model_id), embedder)
    generator = None
    if settings.answerer == "llm":
        model = chat_model(
            settings.llm_model,
            settings.llm_base_url,
            settings.llm_api_key,
            settings.llm_temperature,
            settings.llm_timeout,
        )
        generator = LLMAnswerer(model, settings.prompts_dir, settings.llm_max_tokens)
    service = AnswerService(
        retriever,
        settings.abstain_min_coverage,
        settings.abstain_min_similarity,
        generator=generator,
        time_zone=settings.zone,
        stale_after_days=settings.stale_after_days,
        coverage_weight=settings.abstain_coverage_weight,
    )
    service.warm_up()
    return service


def is_follow_up(question: str) -> bool:
    return bool(FOLLOW_UP.search(question.strip()))
