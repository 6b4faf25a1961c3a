"""The answering API shared by the CLI, the bot and the evaluation: question in, cited answer out."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence

from answers import extractive
from answers.citations import renumber
from answers.evidence import Evidence, QuestionTerms, gather
from answers.grounding import grounded
from answers.llm import LLMAnswerer, chat_model
from answers.retrieve import Filters, Retriever
from answers.types import Answer, Turn
from index.embeddings import Embedder
from index.reader import IndexReader
from newsbot.settings import Settings

log = logging.getLogger("newsbot.answers")
ABSTAIN_TEXT = "The indexed articles don't say."
FOLLOW_UP = re.compile(
    r"^(and|but|also|so|then|what about|how about)\b|\b(he|she|it|they|them|his|her|its|their|that|those|this|these)\b",
    re.IGNORECASE,
)


class AnswerService:
    """Retrieves passages, decides whether they answer the question, and has the answerer write the answer."""

    def __init__(
        self, retriever: Retriever, min_coverage: float, min_similarity: float, passages: int = 6, generator=None
    ):
        self.retriever = retriever
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        self.passages = passages
        self.generator = generator  # an LLM answerer, or None for extractive answers only

    def warm_up(self) -> None:
        """Load the model and build the keyword index now rather than on the first question."""
        self.retriever.search("warm up", 1)

    @property
    def answerer(self) -> str:
        return self.generator.name if self.generator else "extractive"

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
        evidence = self.evidence(question, history, filters)
        if not self.supported(evidence):
            yield self._finish(Answer(question, ABSTAIN_TEXT, abstained=True, answerer=self.answerer), started)
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
                yield self._finish(Answer(question, ABSTAIN_TEXT, abstained=True, answerer=self.answerer), started)
                return
            supported = grounded(generated, passages)
            if supported:
                answerer, text = self.generator.name, supported
        cited_text, citations = renumber(text, passages)
        yield self._finish(
            Answer(question, cited_text, abstained=False, citations=citations, answerer=answerer), started
        )

    def evidence(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Evidence:
        context = history[-1].question if history and is_follow_up(question) else ""
        hits = self.retriever.search(f"{context} {question}".strip(), self.passages, filters)
        return gather(question, hits, QuestionTerms(question, context))

    def supported(self, evidence: Evidence) -> bool:
        return (
            bool(evidence.sentences)
            and not evidence.missing_names
            and evidence.coverage >= self.min_coverage
            and evidence.similarity >= self.min_similarity
        )

    @staticmethod
    def _finish(answer: Answer, started: float) -> Answer:
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer


def build_service(settings: Settings) -> AnswerService:
    """The answering service the settings describe: index, embedder, retriever and answerer."""
    embedder = Embedder(settings)
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
        retriever, settings.abstain_min_coverage, settings.abstain_min_similarity, generator=generator
    )
    service.warm_up()
    return service


def is_follow_up(question: str) -> bool:
    return bool(FOLLOW_UP.search(question.strip()))
