"""The extractive answerer: the best sentences of the retrieved passages, each cited. No LLM, instant."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from answers.answerer import Written
from answers.evidence import Evidence, Sentence
from answers.safety import INSTRUCTION
from answers.types import Turn
from index.passages import sentence_spans
from index.types import Passage

MAX_SENTENCES = 2
SECOND_SENTENCE_RATIO = 0.8  # a further sentence scores at least this share of the best one's score
DETAILED = (5, 0.5)  # detailed answers: at most this many sentences, each scoring this share of the best
LEADING_CLAUSE = re.compile(
    r"^(?:despite [^,]{3,80}|however|meanwhile|nevertheless|still|but|and|also|in addition),\s+(?!who|which|whose)(?=[a-z])",
    re.IGNORECASE,
)
SUMMARY_WORDS = (6, 60)  # sentences shorter or longer than this don't make a briefing
REDUNDANT = 0.8  # a sentence this similar to one already chosen says nothing new


class ExtractiveAnswerer:
    name = "extractive"
    streams = False

    def __init__(self, embedder):
        self.embedder = embedder

    def answer(
        self, question: str, history: Sequence[Turn], evidence: Evidence, today: date, detailed: bool = False
    ) -> Written:
        return compose(evidence, *(DETAILED if detailed else (MAX_SENTENCES, SECOND_SENTENCE_RATIO)))
        yield  # a generator that writes nothing as it goes: the answer is there at once

    def summarise(self, passages: list[Passage], sentences: int) -> str:
        """The most central sentences (the most similar to the passages' mean vector: what the story is about),
        most central first, preferring outlets not yet cited, none repeating another."""
        candidates = [
            Sentence(text, source, 0.0, 0.0)
            for source, passage in enumerate(passages)
            for span in sentence_spans(passage.text)
            if SUMMARY_WORDS[0]
            <= len((text := passage.text[span.start : span.end].strip()).split())
            <= SUMMARY_WORDS[1]
            and not INSTRUCTION.search(text)
        ]
        if not candidates:
            return ""
        vectors = self.embedder.embed([sentence.text for sentence in candidates])
        centroid = self.embedder.embed([passage.text for passage in passages]).mean(axis=0)
        similarity, centrality = vectors @ vectors.T, vectors @ centroid
        outlets = [passages[sentence.source].article.outlet for sentence in candidates]
        chosen: list[int] = []
        while len(chosen) < sentences:
            fresh = [i for i in range(len(candidates)) if all(similarity[i, j] < REDUNDANT for j in chosen)]
            if not fresh:
                break
            new_outlet = [i for i in fresh if outlets[i] not in {outlets[j] for j in chosen}]
            chosen.append(max(new_outlet or fresh, key=lambda i: centrality[i]))
        return " ".join(cited(candidates[i]) for i in chosen)


def compose(evidence: Evidence, sentences: int = MAX_SENTENCES, ratio: float = SECOND_SENTENCE_RATIO) -> str:
    """Sentences with `[n]` markers, n being the 1-based position of the sentence's passage in the evidence."""
    chosen = _choose(evidence.sentences, sentences, ratio)
    return " ".join(cited(sentence) for sentence in chosen)


def _choose(sentences: list[Sentence], most: int, ratio: float) -> list[Sentence]:
    if not sentences:
        return []
    best = sentences[0]
    chosen = [best]
    for candidate in sentences[1:]:
        if len(chosen) == most or candidate.score < ratio * best.score:
            break
        if not any(_similar(candidate.text, other.text) for other in chosen):
            chosen.append(candidate)
    return chosen


def _similar(a: str, b: str) -> bool:
    words_a, words_b = set(a.lower().split()), set(b.lower().split())
    return len(words_a & words_b) / max(1, min(len(words_a), len(words_b))) > 0.6


def cited(sentence: Sentence) -> str:
    """The sentence tidied (leading connective dropped, capitalised) with its `[n]` marker before the stop."""
    text = LEADING_CLAUSE.sub("", " ".join(sentence.text.split()))
    text = text[0].upper() + text[1:]
    marker = f" [{sentence.source + 1}]"
    if text[-1] in ".!?":
        return text[:-1] + marker + text[-1]
    if text[-1] in "\"'”’" and len(text) > 1 and text[-2] in ".!?":
        return text + marker
    return text + marker + "."
