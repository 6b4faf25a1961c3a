"""Which sentences of the retrieved passages answer the question, and how well the passages cover it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wordfreq import zipf_frequency

from answers.retrieve import Retrieved
from answers.safety import INSTRUCTION
from index.passages import sentence_spans
from index.terms import STOPWORDS, stem, terms, words

ANSWER_TYPES = (
    ("how many", re.compile(r"\d|\b(?:dozens?|hundreds?|thousands?|millions?|billions?)\b", re.IGNORECASE)),
    ("how much", re.compile(r"\d|\b(?:hundreds?|thousands?|millions?|billions?)\b", re.IGNORECASE)),
    (
        "when",
        re.compile(
            r"\d|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|yesterday|today|week|month|year)\b",
            re.IGNORECASE,
        ),
    ),
)
ANSWER_TYPE_BONUS = 0.15
NAME = re.compile(r"\b[A-Z][\w'-]*[a-zA-Z]")
CONTEXT_WEIGHT = 0.3
RARITY_SCALE = 7.5  # a word's weight is 7.5 minus its Zipf frequency: "the" ~0, "deployment" 3.6, names 5+
MIN_WEIGHT = 0.5


@dataclass(frozen=True)
class Sentence:
    text: str
    source: int  # index of its passage in Evidence.passages
    coverage: float  # share of the question's weighted terms the sentence contains
    score: float


@dataclass(frozen=True)
class Evidence:
    passages: list[Retrieved]
    sentences: list[Sentence]  # best first
    coverage: float  # the best share of question terms found in one passage with its title
    similarity: float  # the best cosine similarity of a passage to the question
    missing_names: list[str]  # names in the question that no retrieved passage mentions


class QuestionTerms:
    """The question's content words, stemmed and weighted by how rare they are in English (names and
    numbers weigh most); words from the earlier turn of a follow-up weigh less."""

    def __init__(self, question: str, context: str = ""):
        self.weights = {term: CONTEXT_WEIGHT * weight for term, weight in _weighted_terms(context).items()}
        self.weights.update(_weighted_terms(question))
        self.total = sum(self.weights.values())

    def coverage(self, text: str) -> float:
        if not self.total:
            return 0.0
        found = set(terms(text))
        return sum(weight for term, weight in self.weights.items() if term in found) / self.total


def _weighted_terms(text: str) -> dict[str, float]:
    return {stem(word): max(MIN_WEIGHT, RARITY_SCALE - zipf_frequency(word, "en")) for word in words(text)}


def gather(question: str, passages: list[Retrieved], terms: QuestionTerms) -> Evidence:
    sentences: list[Sentence] = []
    best_coverage = 0.0
    expects = _expected_answer(question)
    for source, hit in enumerate(passages):
        passage_coverage = terms.coverage(f"{hit.passage.article.title}\n{hit.passage.text}")
        best_coverage = max(best_coverage, passage_coverage)
        for span in sentence_spans(hit.passage.text):
            text = hit.passage.text[span.start : span.end].strip()
            if INSTRUCTION.search(text):
                continue
            coverage = terms.coverage(text)
            if coverage > 0:
                score = 0.6 * coverage + 0.2 * passage_coverage + 0.2 * max(hit.similarity, 0.0) - 0.01 * source
                score += ANSWER_TYPE_BONUS if expects and expects.search(text) else 0.0
                sentences.append(Sentence(text, source, coverage, score))
    sentences.sort(key=lambda sentence: sentence.score, reverse=True)
    similarity = max((hit.similarity for hit in passages), default=0.0)
    return Evidence(passages, sentences, best_coverage, similarity, _missing_names(question, passages))


def _expected_answer(question: str) -> re.Pattern | None:
    """What an answer to a how-many / when / who question contains, to prefer sentences that have it."""
    lowered = question.lower()
    for opening, pattern in ANSWER_TYPES:
        if opening in lowered:
            return pattern
    return None


def _missing_names(question: str, passages: list[Retrieved]) -> list[str]:
    names = [word for word in NAME.findall(question)[1:] if word.lower() not in STOPWORDS]
    evidence = set(terms(" ".join(f"{hit.passage.article.title} {hit.passage.text}" for hit in passages)))
    return [name for name in names if not set(terms(name)) <= evidence]
