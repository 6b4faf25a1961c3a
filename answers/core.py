"""The answering API shared by the CLI, the bot and the evaluation: question in, cited answer out."""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from functools import partial

from wordfreq import zipf_frequency

from answers import conversation, timeframes
from answers.aliases import countries
from answers.answerer import Answerer, Digests, Story
from answers.citations import MARKER, combined, renumber, with_sentences
from answers.date_prior import DatePrior
from answers.evidence import Evidence, QuestionTerms, gather
from answers.kinds import named_person
from answers.meaning import SentenceMeaning
from answers.outlets import named_outlet
from answers.parts import scene_and_question, split_parts
from answers.recency import (
    WHATS_NEW_WORDS as WHATS_NEW,
)
from answers.recency import (
    NewsRequest,
    freshness_note,
    newest_coverage,
    news_request,
    published_date,
    whats_new_topic,
)
from answers.retrieve import RankedArticle, Retrieved, Retriever
from answers.spelling import Speller
from answers.timeframes import Timeframe, day_text
from answers.topics import covering
from answers.types import Answer, AnswerOptions, Citation, Fallback, Turn
from common.clock import utc_now
from common.deadline import Deadline
from common.errors import LLMTooSlow, LLMUnavailable
from index.terms import words
from index.types import Filters

log = logging.getLogger("newsbot.answers")
DEFAULT_OPTIONS = AnswerOptions()
ABSTAIN_TEXT = "The indexed articles don't say."
TOO_SLOW = "(The language model was too slow, so this answer quotes the articles.)"
CONTINUES = re.compile(r"^\W*(?:and|but|also|so|then|what about|how about|what of)\b", re.IGNORECASE)
REFERS_BACK = re.compile(r"\b(?:he|she|it|they|them|him|his|her|its|their|theirs)\b", re.IGNORECASE)
ANSWER_CONTEXT_CHARS = 300  # of an earlier answer, searched with a follow-up
ARTICLE_PASSAGES = 6  # the best article's leading passages that join the evidence
SEARCHED_COVERAGE = 0.5  # an abstention names the article it searched when that holds this much of the question
TOPIC_WORD = 5.6  # a word rarer than this (Zipf) can name what a question is about; "say", "year", "people" can't


@dataclass(frozen=True)
class Signals:
    """What the abstention rule reads from the evidence for a question (or one part of it)."""

    coverage: float  # the best share of the question's weighted words one passage (with its title) holds
    score: float  # the best sentence's score (answers/evidence.py); 0 when there is none
    similarity: float  # the best cosine of a retrieved passage to the question
    sentence_similarity: float  # the best cosine of a sentence to the question
    names_missing: bool  # a name in the question is in no passage
    kind_found: bool  # the best sentence holds the kind of answer asked for (or the question asks for none)
    decisive: bool = False  # it holds what a who-is or who-said-what question asks: that answers it

    @classmethod
    def of(cls, evidence: Evidence) -> list[Signals]:
        """One per part of the question (one for most questions)."""
        return [
            cls(
                part.coverage,
                part.best.score if part.best else 0.0,
                part.similarity,
                max((sentence.similarity for sentence in part.sentences), default=0.0),
                bool(part.missing_names),
                not part.asks_kind or bool(part.best and part.best.typed),
                part.decisive,
            )
            for part in evidence.parts or [evidence]
        ]


@dataclass(frozen=True)
class AbstentionRule:
    """Answer only when every name in the question is in the passages, they cover at least `min_coverage` of
    the question's weighted words, the best sentence holds the kind of answer asked for (a number, a date, a
    name), and the confidence — the best passage's and the best sentence's cosine to the question, plus
    `coverage_weight` × coverage and `score_weight` × the best sentence's score — reaches `min_confidence`; a
    question in parts, when one of its parts does (calibrated by `newsbot eval`)."""

    min_coverage: float
    coverage_weight: float
    score_weight: float
    min_confidence: float

    def answers(self, evidence: Evidence) -> bool:
        return any(self.passes(signals) for signals in Signals.of(evidence))

    def passes(self, signals: Signals) -> bool:
        if signals.names_missing or not signals.kind_found:
            return False
        return signals.decisive or (
            signals.coverage >= self.min_coverage and self.confidence(signals) >= self.min_confidence
        )

    def confidence(self, signals: Signals) -> float:
        return (
            signals.similarity
            + signals.sentence_similarity
            + self.coverage_weight * signals.coverage
            + self.score_weight * signals.score
        )


@dataclass(frozen=True)
class Scope:
    """Where a question's passages are searched: `filters` (with the clock's cutoff), kept to passages about
    `topic` when given, scored with the date `prior`."""

    filters: Filters | None = None
    topic: str = ""
    prior: DatePrior | None = None


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
        digests: Digests | None = None,
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
        self.digests = digests  # general news questions are answered with its digest of the matching stories
        self.speller = Speller(retriever.store.vocabulary)
        self.meaning = SentenceMeaning(retriever.embedder, retriever.store)

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
        of the question; `options` narrow and shape the answer (outlets and topic, time zone, length). A line
        that is conversation gets its reply; a question not in English is answered after a line saying so."""
        started = time.perf_counter()
        answerer = self.fallback if options.extractive else self.answerer
        reply = conversation.reply(question)
        if reply is not None:
            yield self._finish(Answer(question, reply, abstained=False, answerer=answerer.name), started)
            return
        foreign = conversation.not_english(question)
        for event in self._answering(question, history, filters, options, answerer, started):
            if foreign and isinstance(event, Answer):
                event.text = f"{conversation.LANGUAGE_NOTE}\n\n{event.text}"
            yield event

    def _answering(
        self,
        question: str,
        history: Sequence[Turn],
        filters: Filters | None,
        options: AnswerOptions,
        answerer: Answerer,
        started: float,
    ) -> Iterator[str | Answer]:
        today = self.today(options.time_zone)
        outlet, asked = named_outlet(question, self.retriever.store.sources()) if not filters else (None, question)
        sources = options.sources or ((outlet,) if outlet else ())
        request = news_request(asked, today, names_outlet=bool(outlet)) if not filters else None
        if request is not None and self.digests is not None:
            yield self._digest(question, request, sources, answerer, today, started)
            return
        asked, timeframe = (question, None) if filters else self.timeframe(asked, today)
        scope = filters or (Filters(sources=sources) if sources else None)
        evidence, unmatched = self.dated_evidence(asked, history, timeframe, scope, options.topic)
        if not self.rule.answers(evidence):
            yield self._abstain(question, answerer, started, evidence)
            return
        earlier = history if evidence.follows_up else ()  # a new question is answered on its own
        if evidence.parts:  # only the parts the passages answer
            evidence = replace(evidence, parts=[part for part in evidence.parts if self.rule.answers(part)])
        question_read = named_person(question, [turn.question for turn in history])  # "he": who it was about
        text, written_by, fallback = yield from self._write(
            question_read, earlier, evidence, today, answerer, options.detailed, options.deadline
        )
        if text is None:
            yield self._abstain(question, answerer, started)
            return
        cited_text, citations = renumber(text, [hit.passage for hit in evidence.passages])
        citations = with_sentences(cited_text, citations)
        note = self.note(citations, timeframe, unmatched, today)
        cited_text = f"{cited_text}\n\n{note}" if note else cited_text
        yield self._finish(
            Answer(
                question,
                cited_text,
                abstained=False,
                citations=citations,
                answerer=written_by,
                note=note,
                fallback=fallback,
            ),
            started,
        )

    def _write(
        self,
        question: str,
        history: Sequence[Turn],
        evidence: Evidence,
        today: date,
        answerer: Answerer,
        detailed: bool,
        deadline: Deadline | None = None,
    ) -> Generator[str, None, tuple[str | None, str, Fallback | None]]:
        """The answerer's text (None: it abstains) and its name; the fallback's when it fails, is too slow or
        writes nothing, and why."""
        why: Fallback = "ungrounded"
        try:
            text = yield from answerer.answer(question, history, evidence, today, detailed, deadline)
        except LLMTooSlow:
            log.info("the %s answerer was too slow; answering extractively", answerer.name)
            text, why = "", "deadline"
        except Exception as error:  # the LLM is down or failing: the extractive answer still stands
            log.warning(
                "the %s answerer failed (%s); answering extractively",
                answerer.name,
                error,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            text, why = "", "unavailable" if isinstance(error, LLMUnavailable) else "error"
        if text or text is None or answerer is self.fallback:
            return text, answerer.name, None
        fallback = yield from self.fallback.answer(question, history, evidence, today, detailed)
        if fallback and why == "deadline":
            fallback = f"{fallback}\n\n{TOO_SLOW}"
        return fallback, self.fallback.name, why

    def _digest(
        self,
        question: str,
        request: NewsRequest,
        sources: tuple[str, ...],
        answerer: Answerer,
        today: date,
        started: float,
    ) -> Answer:
        """A general news question's answer: one item per matching story, each with its headline, date and cited
        sentences; when no story matches, a line saying so and naming the newest article's date."""
        assert self.digests is not None
        timeframe = request.timeframe
        if timeframe is None and request.topic and WHATS_NEW.match(question):  # "what's new about X": its newest days
            timeframe = newest_coverage(self.retriever, request.topic, self.rule.min_coverage, self.limited(None))
        until = today if self.cutoff else None
        items = self.digests.brief(request.topic, timeframe, sources=sources, until=until).items
        if not items:
            text = self._nothing_new(request, timeframe, sources, until)
            return self._finish(Answer(question, text, abstained=True, answerer=answerer.name), started)
        texts, citations = combined([(story.text, story.citations) for story in items])
        lines = [f"• {story.headline}{_dated(story)}: {text}" for story, text in zip(items, texts, strict=True)]
        text = "\n".join([_digest_title(request, timeframe), *lines])
        citations = with_sentences("\n".join(texts), citations)
        return self._finish(
            Answer(question, text, abstained=False, citations=citations, answerer=answerer.name), started
        )

    def _nothing_new(
        self, request: NewsRequest, timeframe: Timeframe | None, sources: tuple[str, ...], until: date | None
    ) -> str:
        """No story about the topic (or none at all) in the period: so, and the newest one's date and headline."""
        assert self.digests is not None
        about = f" about {request.topic}" if request.topic else ""
        if request.topic:
            stories = self.digests.brief(request.topic, None, sources=sources, until=until).items
            dated = [(day, story.headline) for story in stories if (day := _story_day(story))]
            newest = max(dated, default=None)
        else:
            found = self.retriever.store.articles(1, Filters(sources=sources, until=until))
            newest = (found[0].effective_day, found[0].title) if found else None
        period = f" {timeframe.describe()}" if timeframe else ""
        if newest is None:
            return f"No article{about} has been indexed{period}."
        return f"No article{about} was published{period}. The newest is from {day_text(newest[0])}: “{newest[1]}”."

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
        if timeframe is None:
            return self.evidence(question, history, filters, topic, prior), None
        if timeframe.named:
            return _published_in(self.evidence(question, history, filters, topic, prior), timeframe), None
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
        """What answering `question` searches: its words (typos corrected), filters and date prior, as `stream`
        decides them (time words, the clock's cutoff, and the time frame dropped when nothing in it answers).
        Answers also search the names of countries a question calls otherwise ("Seoul"); ranking articles, that
        costs more than it brings (RealTime QA live Hit@5 0.911 -> 0.893), so it is left out here."""
        asked, timeframe = self.timeframe(question)
        filters = None
        if timeframe and not timeframe.named:  # a filter, unless nothing published then answers
            _, unmatched = self.dated_evidence(asked, (), timeframe, None)
            filters = timeframe.filters() if unmatched is None else None
        return self.speller.correct(asked), self.limited(filters), self.prior(timeframe)

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
        """The evidence for the question (typos corrected; about `topic`, when given), read with the previous turn
        only when it needs it; for a question in two parts, each part's evidence."""
        scope = Scope(self.limited(filters), topic, prior or self.prior(None))
        scene, asked = scene_and_question(self.speller.correct(question))
        if scene:  # the question says what it is about: the scene is its context, never the previous turn
            return self._search(asked, scene, scope, self.passages)
        asked_before = [turn.question for turn in history]
        earlier = self.speller.correct(named_person(asked_before[-1], asked_before[:-1])) if history else ""
        parts = split_parts(asked)
        if len(parts) == 1:
            named = named_person(asked, asked_before)  # "what did he claim": who "he" is, for what it asks
            return self._read(asked, earlier, scope, _said(history[-1].answer) if history else "", named)
        k = self.passages // 2
        first, second = (self._read_part(part, other, scope, k) for part, other in (parts, parts[::-1]))
        return merged([first, second])

    def _read(
        self, question: str, earlier: str, scope: Scope, earlier_answer: str = "", asked_as: str = ""
    ) -> Evidence:
        """Evidence for the question alone when it has a subject of its own, else with the earlier question as
        context (and its answer, to find the passages it quoted); a question that refers back ("they", "it")
        and finds no answer alone is read with it too."""
        topic = _topic_words(question)
        refers_back = bool(REFERS_BACK.search(question))
        follow_up = partial(self._follow_up, question, earlier, scope, earlier_answer, asked_as)
        if earlier and (CONTINUES.search(question) or not topic or (refers_back and len(topic) < 2)):
            return follow_up()
        alone = self._search(question, "", scope, self.passages, asked_as=asked_as)
        if earlier and refers_back and not self.rule.answers(alone):
            return follow_up()
        return alone

    def _follow_up(self, question: str, earlier: str, scope: Scope, earlier_answer: str, asked_as: str) -> Evidence:
        searched = self._search(question, earlier, scope, self.passages, earlier_answer, asked_as)
        return replace(searched, follows_up=True)

    def _read_part(self, part: str, other: str, scope: Scope, k: int) -> Evidence:
        """One part of a two-part question, with the other part as context when it has no subject of its own
        ("... and how hot does it get?")."""
        needs_other = REFERS_BACK.search(part) or len(_topic_words(part)) < 2
        return self._search(part, other if needs_other else "", scope, k)

    def _search(
        self, question: str, context: str, scope: Scope, k: int, earlier_answer: str = "", asked_as: str = ""
    ) -> Evidence:
        query = _query(question, context, earlier_answer)
        hits = self._with_article(self._hits(query, scope, k))
        vector = self.meaning.question(query)
        follows = context if CONTINUES.search(question) else ""  # "what about X?" asks what the earlier one asked
        terms = QuestionTerms(question, context)
        sentences = self.meaning.sentences(hits)
        return gather(question, hits, terms, vector, sentences, follows=follows, asked_as=asked_as)

    def _hits(self, query: str, scope: Scope, k: int) -> list[Retrieved]:
        if not scope.topic:
            return self.retriever.search(query, k, scope.filters, prior=scope.prior)
        found = self.retriever.search(query, k * 4, scope.filters, prior=scope.prior)  # then kept to the topic
        return covering(found, scope.topic, self.rule.min_coverage)[:k]

    def _with_article(self, hits: list[Retrieved]) -> list[Retrieved]:
        """The hits and, after them, the best hit's article's other leading passages (its answer may be in a
        passage that shares fewer words with the question), each as similar as the article's best passage."""
        if not hits:
            return hits
        top = hits[0]
        have = {hit.passage.id for hit in hits}
        leads = self.retriever.store.lead_passages([top.passage.article.id], ARTICLE_PASSAGES)
        extra = [
            Retrieved(passage, 0.0, top.similarity, 0.0)
            for passage in leads.get(top.passage.article.id, [])
            if passage.id not in have
        ]
        return hits + extra

    def _abstain(self, question: str, answerer: Answerer, started: float, evidence: Evidence | None = None) -> Answer:
        """The abstention; on the article's subject (its words largely there, no name missing), saying which
        article was searched."""
        text = ABSTAIN_TEXT
        if evidence and evidence.passages and not evidence.missing_names and evidence.coverage >= SEARCHED_COVERAGE:
            article = evidence.passages[0].passage.article
            details = ", ".join(part for part in (article.source, _day(article.published)) if part)
            text += f" I searched “{article.title or 'Untitled'}”" + (f" ({details})." if details else ".")
        return self._finish(Answer(question, text, abstained=True, answerer=answerer.name), started)

    @staticmethod
    def _finish(answer: Answer, started: float) -> Answer:
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return answer


def _day(published: str | None) -> str:
    day = published_date(published)
    return day_text(day) if day else ""


def _story_day(story: Story) -> date | None:
    return max((day for citation in story.citations if (day := published_date(citation.published))), default=None)


def _dated(story: Story) -> str:
    day = _story_day(story)
    return f" ({day_text(day)})" if day else ""


def _digest_title(request: NewsRequest, timeframe: Timeframe | None) -> str:
    about = f" about {request.topic}" if request.topic else ""
    period = f", {timeframe.describe()}" if timeframe else ""
    return f"The stories{about}{period}, newest coverage first:" if request.topic else f"The newest stories{period}:"


def _query(question: str, context: str = "", earlier_answer: str = "") -> str:
    """What is searched for a question: the earlier answer and context it is read with, the question, and the
    names of the countries it names otherwise (Seoul: South Korea)."""
    countries_named = countries(f"{context} {question}", typed=True)
    return " ".join([earlier_answer, context, question, *countries_named]).strip()


def _said(answer: str) -> str:
    """What an earlier answer quoted (markers and notes left out; nothing when it abstained)."""
    if answer.strip().startswith(ABSTAIN_TEXT):
        return ""
    return MARKER.sub("", answer.split("\n\n")[0]).strip()[:ANSWER_CONTEXT_CHARS]


def _published_in(evidence: Evidence, timeframe: Timeframe) -> Evidence:
    start, end = timeframe.start or date.min, timeframe.end or date.max
    within = frozenset(
        i for i, hit in enumerate(evidence.passages) if start <= hit.passage.article.effective_day <= end
    )
    return replace(evidence, in_period=within)


def _topic_words(question: str) -> list[str]:
    return [
        word for word in words(question) if not REFERS_BACK.fullmatch(word) and zipf_frequency(word, "en") < TOPIC_WORD
    ]


def merged(parts: list[Evidence]) -> Evidence:
    """One evidence for a question in parts: the passages of all parts (each once), each part's sentences
    pointing into them."""
    passages: list[Retrieved] = []
    positions: dict[int, int] = {}
    remapped = []
    for part in parts:
        where = []
        for hit in part.passages:
            if hit.passage.id not in positions:
                positions[hit.passage.id] = len(passages)
                passages.append(hit)
            where.append(positions[hit.passage.id])
        sentences = [
            replace(sentence, source=where[sentence.source], lead_source=where[sentence.lead_source])
            for sentence in part.sentences
        ]
        remapped.append(replace(part, passages=passages, sentences=sentences))
    sentences = sorted((s for part in remapped for s in part.sentences), key=lambda s: s.score, reverse=True)
    return Evidence(
        passages,
        sentences,
        min(part.coverage for part in parts),
        min(part.similarity for part in parts),
        [name for part in parts for name in part.missing_names],
        parts=remapped,
    )
