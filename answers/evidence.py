"""Which sentences of the retrieved passages answer the question, and how well the passages cover it.

A sentence is scored by meaning (the cosine of its vector to the question's) and by words (the share of the
question's weighted words it holds, countries matched under any of their names; the words of its article's title
count as said by every sentence of the article, and those of the sentence it leans on nearly so), plus whether it
holds the kind of thing asked for (a number for "how many", a date for "when", a person for "who")."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from wordfreq import zipf_frequency

from answers.aliases import canonical
from answers.kinds import LEADER_STEMS, decisive, expected_kind, speaks, subject
from answers.retrieve import Retrieved
from answers.safety import is_instruction
from index.passages import sentence_units
from index.terms import STOPWORDS, stem, terms, words

DECISIVE = 0.9  # how surely the best sentence must hold what a who-is or who-said-what question asks
CONTEXT_WEIGHT = 0.3  # words of the previous turn, or of the scene a question sets before asking
RARITY_SCALE = 7.5  # a word's weight is 7.5 minus its Zipf frequency: "the" ~0, "deployment" 3.6, names 5+
MIN_WEIGHT = 0.5
COUNTRY_WEIGHT = 4.0  # a country, however it is named
COUNTRY = re.compile(r"^country[a-z]{2}$")
NAME = re.compile(r"\b[A-Z][\w'-]*[a-zA-Z]")

FOCUS = re.compile(r"\b(?:how\s+(?:many|much)|what|which)\s+(?:of\s+the\s+)?([a-z][\w-]+)", re.IGNORECASE)
FOCUS_WEIGHT = 1.5
LAST_WORD = re.compile(
    r"^\W*what\s+(?:did|does|do|will|has|have|had|would|could|can)\b.*?\b([a-z]+)\W*$", re.IGNORECASE
)
RELATED_CREDIT = 0.75
RELATED_PREFIX = 4
RELATED_SHARE = 0.8
TITLE_CREDIT = 0.9  # a question word found only in the article's title (but for the words `said` holds)
OPENING_BONUS = 0.05  # for the two sentences that open an article: news says the most important first
LEAD_CREDIT = 0.9  # a question word found only in the sentence a sentence leans on ("They said ..."): both are quoted
LEANS = re.compile(
    r"^\W*(?:(?:but|and|yet|so)\s+)?(?:they|it|he|she|its|their|his|her|them|such|this|these|those|that|there)\b"
    r"(?!\s+(?:is|are|was|were)\s+no\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made (tuned on the reading set's tune half)."""

    coverage: float = 0.45
    similarity: float = 0.35
    passage_coverage: float = 0.1
    passage_similarity: float = 0.1
    answer_type: float = 0.3


WEIGHTS = Weights()


@dataclass(frozen=True)
class Sentence:
    text: str
    source: int  # index of its passage in Evidence.passages
    coverage: float  # share of the question's weighted terms the sentence (with its lead and title) holds
    score: float
    similarity: float = 0.0  # cosine of the sentence's vector to the question's
    lead: str = ""  # the sentence before it, when this one leans on it ("They characterized ...")
    lead_source: int = 0  # the passage holding the lead (the one before when the sentence opens its passage)
    typed: float = 0.0  # holds the kind of answer asked for: 1, perhaps (a name for "who"): 0.5, no: 0


@dataclass(frozen=True)
class Evidence:
    passages: list[Retrieved]
    sentences: list[Sentence]  # best first
    coverage: float  # the best share of question terms found in one passage with its title
    similarity: float  # the best cosine similarity of a passage to the question
    missing_names: list[str]  # names in the question that no retrieved passage mentions
    parts: list[Evidence] = field(default_factory=list)  # a question in two parts: the evidence for each
    follows_up: bool = False  # read with the previous turn as context
    asks_kind: bool = False  # the question asks for a number, a date or a name
    in_period: frozenset[int] = frozenset()  # a question naming a period: the passages published in it
    decisive: bool = False  # the best sentence holds what a who-is or who-said-what question asks: it answers

    @property
    def best(self) -> Sentence | None:
        return self.sentences[0] if self.sentences else None


class QuestionTerms:
    """The question's content words, stemmed and weighted by how rare they are in English (names and
    numbers weigh most); words from the earlier turn of a follow-up weigh less. `said`: the word a "what did
    ... <verb>?" question ends on, which a sentence must say itself (an article's title does not say it for
    every sentence: "What did Lumen Labs *release*?")."""

    def __init__(self, question: str, context: str = ""):
        self.weights = {term: CONTEXT_WEIGHT * weight for term, weight in _weighted_terms(context).items()}
        self.weights.update(_weighted_terms(question))
        self.total = sum(self.weights.values())
        ending = LAST_WORD.search(question)
        self.said = {stem(word) for word in words(ending.group(1))} if ending else set()

    def coverage(self, text: str) -> float:
        return self.share(text_terms(text))

    def share(
        self,
        own: AbstractSet[str],
        lead: AbstractSet[str] = frozenset(),
        title: AbstractSet[str] = frozenset(),
    ) -> float:
        """The weighted share of question terms a sentence holds: those in `own` (a word of the same family,
        "opposed" and "opponents", at RELATED_CREDIT), in the sentence it leans on (`lead`, at LEAD_CREDIT), and
        in its article's `title` (except the words the question ends on)."""
        if not self.total:
            return 0.0
        score = 0.0
        for term, weight in self.weights.items():
            if term in own:
                score += weight
            elif term in title and term not in self.said:
                score += weight * TITLE_CREDIT
            elif term in lead:
                score += weight * LEAD_CREDIT
            elif _related(term, own) or (term in LEADER_STEMS and own & LEADER_STEMS):
                score += weight * RELATED_CREDIT  # a word of its family, or another title for a leader
        return score / self.total


def _related(term: str, found: AbstractSet[str]) -> bool:
    """Whether `found` holds a stem sharing its first letters with `term` (four, and most of the shorter)."""
    if len(term) < RELATED_PREFIX + 1 or COUNTRY.match(term):  # countries are one token each: none is related
        return False
    head = term[:RELATED_PREFIX]
    for other in found:
        if other.startswith(head) and len(other) > RELATED_PREFIX and other != term:
            shared = len(os.path.commonprefix([term, other]))
            if shared >= RELATED_SHARE * min(len(term), len(other)):
                return True
    return False


def text_terms(text: str, typed: bool = False) -> frozenset[str]:
    """The stemmed content words of `text`, every country as its one token."""
    return _text_terms(text, typed)


@lru_cache(maxsize=65536)
def _text_terms(text: str, typed: bool) -> frozenset[str]:
    return frozenset(terms(canonical(text, typed)))


def _weighted_terms(text: str) -> dict[str, float]:
    """Stemmed content words and their weights; the thing asked about ("how many *firefighters*", "which
    *telescope*") weighs FOCUS_WEIGHT times more."""
    asked = canonical(text, typed=True)
    focus = FOCUS.search(asked)
    weighted = {}
    for word in words(asked):
        weight = COUNTRY_WEIGHT if COUNTRY.match(word) else max(MIN_WEIGHT, RARITY_SCALE - zipf_frequency(word, "en"))
        if focus and word == focus.group(1).lower():
            weight *= FOCUS_WEIGHT
        weighted[stem(word)] = weight
    return weighted


@dataclass(frozen=True)
class _Candidate:
    text: str
    source: int
    terms: frozenset[str]
    lead: str
    lead_terms: frozenset[str]
    row: int  # its position in its passage, and in the passage's sentence vectors
    lead_source: int


def gather(
    question: str,
    passages: list[Retrieved],
    terms_: QuestionTerms,
    question_vector: np.ndarray | None = None,
    sentence_vectors: Sequence[np.ndarray | None] | None = None,
    weights: Weights | None = None,
    follows: str = "",
    asked_as: str = "",
) -> Evidence:
    """The evidence for `question` in `passages`. `sentence_vectors[i]`: one row per sentence of passage i
    (`sentence_spans` order), compared with `question_vector`; without them, sentences are scored by words.
    `follows`: the earlier question a follow-up that asks no kind of its own continues ("what about the
    earbuds?" after "how much is the tablet?": a price). `asked_as`: the question with its "he" or "she" named
    ("what did Halvard Rusk claim"), for what it asks."""
    text = "\n".join(hit.passage.text for hit in passages)
    read = asked_as or question
    expects = expected_kind(read, text) or (expected_kind(follows, text) if follows else None)
    asked_of = subject(read)  # a price or rate asked of something: the sentence (or title) must name it
    weights = weights or WEIGHTS
    sentences: list[Sentence] = []
    best_coverage = 0.0
    everything: set[str] = set()
    last_sentences = _last_sentences(passages)
    for source, hit in enumerate(passages):
        title_terms = text_terms(hit.passage.article.title)
        before = last_sentences.get((hit.passage.article.id, hit.passage.ordinal - 1), ("", source))
        candidates = _candidates(source, hit, before)
        passage_terms = title_terms.union(*(text_terms(text) for text, _, _ in _sentences(hit.passage.text)))
        passage_coverage = terms_.share(passage_terms)
        everything |= passage_terms
        best_coverage = max(best_coverage, passage_coverage)
        vectors = sentence_vectors[source] if sentence_vectors else None
        for candidate in candidates:
            coverage = terms_.share(candidate.terms, candidate.lead_terms, title_terms)
            similarity = (
                float(vectors[candidate.row] @ question_vector)
                if vectors is not None and question_vector is not None
                else 0.0
            )
            typed = float(expects(f"{candidate.lead} {candidate.text}")) if expects else 0.0
            unnamed = asked_of - title_terms - candidate.terms - candidate.lead_terms
            if unnamed and not (candidate.lead and unnamed <= passage_terms):  # "It said the closure would cost"
                typed = 0.0
            score = (
                weights.coverage * coverage
                + weights.similarity * similarity
                + weights.passage_coverage * passage_coverage
                + weights.passage_similarity * max(hit.similarity, 0.0)
                + weights.answer_type * typed
                + (OPENING_BONUS if hit.passage.ordinal == 0 and candidate.row < 2 else 0.0)
                - 0.005 * source
            )
            if coverage > 0 or similarity > 0:
                sentences.append(
                    Sentence(
                        candidate.text,
                        source,
                        coverage,
                        score,
                        similarity=similarity,
                        lead=candidate.lead,
                        lead_source=candidate.lead_source,
                        typed=typed,
                    )
                )
    sentences.sort(key=lambda sentence: sentence.score, reverse=True)
    best_score = sentences[0].score if sentences else 0.0
    # the kind asked for first, unless it scores far below the best (a place name anywhere beats no "where")
    settled = decisive(read)  # who is X / what did X say: the sentence that holds it best, if any is close
    sentences.sort(  # within the margin: what the question asks, surely (1), then perhaps (0.5: a name, no role)
        key=lambda s: (
            s.score >= best_score - weights.answer_type and s.typed >= 1,
            s.typed > 0 and s.score >= best_score - weights.answer_type,
            s.typed if settled else 0.0,
        ),
        reverse=True,
    )
    similarity = max((hit.similarity for hit in passages), default=0.0)
    return Evidence(
        passages,
        sentences,
        best_coverage,
        similarity,
        missing_names(question, everything),
        asks_kind=bool(expects) and not speaks(read),  # a quote is looked for, not demanded
        decisive=settled and bool(sentences) and sentences[0].typed >= DECISIVE,
    )


@lru_cache(maxsize=16384)
def _sentences(text: str) -> tuple[tuple[str, int, bool], ...]:
    """(text, the row of its sentence vector, whether it is page furniture) of each unit of the passage."""
    return tuple(
        (" ".join(text[unit.start : unit.end].split()), unit.row, unit.furniture) for unit in sentence_units(text)
    )


def _candidates(source: int, hit: Retrieved, before: tuple[str, int]) -> list[_Candidate]:
    """The passage's sentences (less page furniture — headings, bylines, timestamps, credits —, questions, which
    answer nothing, and any that read as instructions to an AI), each with the one before it when it leans on it;
    `before`: the sentence before the passage, when the previous passage was retrieved too."""
    candidates = []
    previous, lead_source = before
    for sentence, row, furniture in _sentences(hit.passage.text):
        if furniture or not sentence or is_instruction(sentence) or sentence.rstrip("\"'”’ ").endswith("?"):
            continue
        lead = previous if previous and LEANS.match(sentence) and not is_instruction(previous) else ""
        candidates.append(_Candidate(sentence, source, text_terms(sentence), lead, text_terms(lead), row, lead_source))
        previous, lead_source = sentence, source
    return candidates


def _last_sentences(passages: list[Retrieved]) -> dict[tuple[str, int], tuple[str, int]]:
    """(article id, ordinal) -> the passage's last sentence and the passage's position, for the passage after."""
    last = {}
    for source, hit in enumerate(passages):
        sentences = [text for text, _, furniture in _sentences(hit.passage.text) if not furniture]
        if sentences:
            last[hit.passage.article.id, hit.passage.ordinal] = (sentences[-1], source)
    return last


def missing_names(question: str, found: set[str]) -> list[str]:
    """Capitalised words of the question (not its first word), none of whose terms the passages (`found`: their
    terms and their titles') hold; a country under another of its names is not missing."""
    asked = canonical(question, typed=True)
    names = [
        match.group()
        for match in NAME.finditer(asked)
        if re.search(r"\w", asked[: match.start()]) and match.group().lower() not in STOPWORDS
    ]
    return [name for name in names if not set(terms(name)) <= found]
