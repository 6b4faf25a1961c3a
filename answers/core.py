"""The answering API shared by the CLI, the bot and the evaluation: question in, cited answer out."""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo

from answers import timeframes
from answers.answerer import Answerer
from answers.citations import renumber
from answers.date_prior import DatePrior
from answers.evidence import Evidence, QuestionTerms, gather
from answers.recency import freshness_note, newest_coverage, whats_new_topic
from answers.retrieve import RankedArticle, Retriever
from answers.timeframes import Timeframe
from answers.topics import covering
from answers.types import Answer, AnswerOptions, Citation, Turn
from index.types import Filters

log = logging.getLogger("newsbot.answers")
DEFAULT_OPTIONS = AnswerOptions()
ABSTAIN_TEXT = "The indexed articles don't say."
FOLLOW_UP = re.compile(
    r"^(and|but|also|so|then|what about|how about)\b|\b(he|she|it|they|them|his|her|its|their|that|those|this|these)\b",
    re.IGNORECASE,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AbstentionRule:
    """Answer only when the passages cover at least `min_coverage` of the question's weighted words,
    similarity + `coverage_weight` × coverage reaches `min_similarity`, and every name in the question is in
    them (calibrated by `newsbot eval`)."""

    min_coverage: float
    coverage_weight: float
    min_similarity: float

    def answers(self, evidence: Evidence) -> bool:
        return (
            bool(evidence.sentences)
            and not evidence.missing_names
            and evidence.coverage >= self.min_coverage
            and evidence.similarity + self.coverage_weight * evidence.coverage >= self.min_similarity
        )


class AnswerService:
    """Retrieves passages, decides whether they answer the question, and has the answerer write the answer
    (quoting the passages instead when it writes nothing usable). Time words in a question ("since Monday")
    are read relative to `clock()` in `time_zone`; with `cutoff` (a clock set by hand: `--now`), articles
    published after its day don't exist."""

    def __init__(
        self,
        retriever: Retriever,
        answerer: Answerer,
        fallback: Answerer,
        rule: AbstentionRule,
        passages: int = 6,
        time_zone: tzinfo = UTC,
        stale_after_days: int = 0,
        clock: Callable[[], datetime] = utc_now,
        cutoff: bool = False,
    ):
        self.retriever = retriever
        self.answerer = answerer
        self.fallback = fallback  # writes when the answerer fails or writes nothing grounded: extractive
        self.rule = rule
        self.passages = passages
        self.time_zone = time_zone
        self.stale_after_days = stale_after_days  # answers whose newest source is older get a note; 0: never
        self.clock = clock
        self.cutoff = cutoff

    def at(self, now: datetime) -> AnswerService:
        """This service with its clock stopped at `now`, articles published later hidden."""
        stopped = copy.copy(self)
        stopped.clock, stopped.cutoff = (lambda: now), True
        return stopped

    def warm_up(self) -> None:
        """Load the model, the index and the word lists now rather than on the first question (an extractive
        answer: an LLM is not asked)."""
        self.answer("warm up", options=AnswerOptions(extractive=True))

    def today(self, time_zone: tzinfo | None = None) -> date:
        return self.clock().astimezone(time_zone or self.time_zone).date()

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        options: AnswerOptions = DEFAULT_OPTIONS,
    ) -> Answer:
        final = None
        for event in self.stream(question, history, filters, options):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        options: AnswerOptions = DEFAULT_OPTIONS,
    ) -> Iterator[str | Answer]:
        """Text as it is written (LLM answers), then the final, validated Answer. `filters` replace the time words
        of the question; `options` narrow and shape the answer (outlets and topic, time zone, length)."""
        started = time.perf_counter()
        today = self.today(options.time_zone)
        answerer = self.fallback if options.extractive else self.answerer
        asked, timeframe = (question, None) if filters else self.timeframe(question, today)
        scope = filters or options.filters()
        evidence, unmatched = self.dated_evidence(asked, history, timeframe, scope, options.topic)
        if not self.rule.answers(evidence):
            yield self._abstain(question, answerer, started)
            return
        text, written_by = yield from self._write(question, history, evidence, today, answerer, options.detailed)
        if text is None:
            yield self._abstain(question, answerer, started)
            return
        cited_text, citations = renumber(text, [hit.passage for hit in evidence.passages])
        note = self.note(citations, timeframe, unmatched, today)
        cited_text = f"{cited_text}\n\n{note}" if note else cited_text
        yield self._finish(
            Answer(question, cited_text, abstained=False, citations=citations, answerer=written_by), started
        )

    def _write(
        self,
        question: str,
        history: Sequence[Turn],
        evidence: Evidence,
        today: date,
        answerer: Answerer,
        detailed: bool,
    ):
        """The answerer's text (None: it abstains) and its name; the fallback's when it fails or writes nothing."""
        try:
            text = yield from answerer.answer(question, history, evidence, today, detailed)
        except Exception as error:  # the LLM is down or failing: the extractive answer still stands
            log.warning(
                "the %s answerer failed (%s); answering extractively",
                answerer.name,
                error,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            text = ""
        if text or text is None or answerer is self.fallback:
            return text, answerer.name
        fallback = yield from self.fallback.answer(question, history, evidence, today, detailed)
        return fallback, self.fallback.name

    def timeframe(self, question: str, today: date | None = None) -> tuple[str, Timeframe | None]:
        """The question without its time words and the publication dates they name; for "What's new about X?",
        X and the days of its newest coverage."""
        timeframe, rest = timeframes.parse(question, today or self.today())
        topic = whats_new_topic(question) if timeframe is None else None
        if topic:
            return topic, newest_coverage(self.retriever, topic, self.rule.min_coverage, self.limited(None))
        return (question if timeframe and timeframe.named else rest), timeframe

    def dated_evidence(
        self,
        question: str,
        history: Sequence[Turn],
        timeframe: Timeframe | None,
        filters: Filters | None,
        topic: str = "",
    ) -> tuple[Evidence, Timeframe | None]:
        """Evidence published within `timeframe` (from the outlets `filters` name), else as `filters` say; when
        nothing from then answers, evidence from any date, and the time frame that went unmatched. A named period
        ("in October") is not a filter: its coverage is preferred."""
        prior = self.prior(timeframe)
        if timeframe is None or timeframe.named:
            return self.evidence(question, history, filters, topic, prior), None
        dated = replace(timeframe.filters(), sources=filters.sources if filters else ())
        evidence = self.evidence(question, history, dated, topic, prior)
        if not self.rule.answers(evidence):
            return self.evidence(question, history, filters, topic, prior), timeframe
        return evidence, None

    def search(self, question: str, articles: int, passages: int = 2) -> list[RankedArticle]:
        """The articles an answer to `question` draws on, best first, each with its best passages."""
        asked, filters, prior = self.retrieval(question)
        return self.retriever.articles(asked, articles, filters, prior, passages)

    def retrieval(self, question: str) -> tuple[str, Filters | None, DatePrior]:
        """What answering `question` searches: its words, filters and date prior, as `stream` decides them (time
        words, the clock's cutoff, and the time frame dropped when nothing in it answers)."""
        asked, timeframe = self.timeframe(question)
        _, unmatched = self.dated_evidence(asked, (), timeframe, None)
        filters = timeframe.filters() if timeframe and not timeframe.named and unmatched is None else None
        return asked, self.limited(filters), self.prior(timeframe)

    def limited(self, filters: Filters | None) -> Filters | None:
        """`filters` and, with a cutoff, no article published after today."""
        return replace(filters or Filters(), until=self.today()) if self.cutoff else filters

    def prior(self, timeframe: Timeframe | None) -> DatePrior:
        """Coverage of the named period, else recent coverage: up to today with a cutoff, else up to the newest
        article found."""
        if timeframe and timeframe.named:
            return DatePrior(timeframe.start, timeframe.end)
        return DatePrior(end=self.today() if self.cutoff else None)

    def note(
        self,
        citations: list[Citation],
        timeframe: Timeframe | None,
        unmatched: Timeframe | None,
        today: date | None = None,
    ) -> str:
        """How old the answer's information is, when that matters; "" otherwise."""
        closed_period = timeframe is not None and timeframe.end is not None and unmatched is None
        stale_after = 0 if closed_period else self.stale_after_days  # "in October" asks for old news
        return freshness_note(citations, today or self.today(), stale_after, unmatched)

    def evidence(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        topic: str = "",
        prior: DatePrior | None = None,
    ) -> Evidence:
        """The passages that best answer the question (about `topic`, when given) and how well they cover it."""
        context = history[-1].question if history and is_follow_up(question) else ""
        query, limited, prior = f"{context} {question}".strip(), self.limited(filters), prior or self.prior(None)
        if not topic:
            hits = self.retriever.search(query, self.passages, limited, prior=prior)
        else:  # a wider search, kept to the passages about the topic
            hits = covering(
                self.retriever.search(query, self.passages * 4, limited, prior=prior), topic, self.rule.min_coverage
            )
        return gather(question, hits[: self.passages], QuestionTerms(question, context))

    def _abstain(self, question: str, answerer: Answerer, started: float) -> Answer:
        return self._finish(Answer(question, ABSTAIN_TEXT, abstained=True, answerer=answerer.name), started)

    @staticmethod
    def _finish(answer: Answer, started: float) -> Answer:
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer


def is_follow_up(question: str) -> bool:
    return bool(FOLLOW_UP.search(question.strip()))
