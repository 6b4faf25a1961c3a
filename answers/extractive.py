"""The extractive answerer: the best sentences of the retrieved passages, each cited. No LLM, instant."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

from answers.answerer import Written
from answers.evidence import Evidence, Sentence
from answers.safety import is_instruction
from answers.types import Turn
from common.deadline import Deadline
from index.passages import sentence_spans
from index.types import Passage, TextEmbedder

SECOND_SENTENCE_MARGIN = 0.05  # a second sentence is quoted when it scores nearly as well as the best ...
OTHER_ARTICLE_MARGIN = 0.1  # ... or, from another article, almost as well
PERIOD_MARGIN = 0.2  # ... or, when the best is from outside the period a question names, from within it
DETAILED = (5, 0.3)  # detailed answers: at most this many sentences, each within this margin of the best
LEADING_CLAUSE = re.compile(
    r"^(?:despite [^,]{3,80}|however|meanwhile|nevertheless|still|but|and|also|in addition),\s+(?!who|which|whose)(?=[a-z])",
    re.IGNORECASE,
)
SUMMARY_WORDS = (6, 60)  # sentences shorter or longer than this don't make a briefing
REDUNDANT = 0.8  # a sentence this similar to one already chosen says nothing new


class ExtractiveAnswerer:
    name = "extractive"
    streams = False
    metered = False

    def __init__(self, embedder: TextEmbedder):
        self.embedder = embedder

    def check(self) -> None:
        """Always answers: it needs nothing but the index."""

    def answer(
        self,
        question: str,
        history: Sequence[Turn],
        evidence: Evidence,
        today: date,
        detailed: bool = False,
        deadline: Deadline | None = None,
    ) -> Written:
        return compose(evidence, detailed)
        yield  # a generator that writes nothing as it goes: the answer is there at once

    def summarise(self, passages: list[Passage], sentences: int, deadline: Deadline | None = None) -> str:
        """The most central sentences (the most similar to the passages' mean vector: what the story is about),
        most central first, preferring outlets not yet cited, none repeating another."""
        candidates = [
            Sentence(text, source, 0.0, 0.0)
            for source, passage in enumerate(passages)
            for span in sentence_spans(passage.text)
            if SUMMARY_WORDS[0]
            <= len((text := passage.text[span.start : span.end].strip()).split())
            <= SUMMARY_WORDS[1]
            and not is_instruction(text)
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


def compose(evidence: Evidence, detailed: bool = False) -> str:
    """Sentences with `[n]` markers, n being the 1-based position of the sentence's passage in the evidence: the
    best one or two (`detailed`: up to five), or for a question in parts the best of each part; a sentence that
    leans on the one before ("They characterized ...") comes after it."""
    if evidence.parts:  # each part's best sentence that another part has not taken
        chosen: list[Sentence] = []
        for part in evidence.parts:
            fresh = [s for s in part.sentences if all(s.text != c.text for c in chosen)]
            chosen += fresh[:1]
    elif detailed:
        chosen = _several(evidence.sentences, *DETAILED)
    else:
        chosen = _choose(
            evidence.sentences,
            lambda sentence: evidence.passages[sentence.source].passage.article.id,
            evidence.in_period,
        )
    quoted: list[tuple[str, int]] = []  # (sentence, its passage)
    for sentence in chosen:
        for text, source in ((sentence.lead, sentence.lead_source), (sentence.text, sentence.source)):
            if text and all(text != earlier for earlier, _ in quoted):
                quoted.append((text, source))
    return " ".join(cited(Sentence(text, source, 0.0, 0.0)) for text, source in quoted)


def _choose(
    sentences: list[Sentence], article_of: Callable[[Sentence], str], in_period: frozenset[int]
) -> list[Sentence]:
    """The best sentence, and a second one that says something else and scores nearly as well: when the best is
    from outside the period the question names, one from within it (PERIOD_MARGIN); else from another article
    (another outlet's or another day's account) within OTHER_ARTICLE_MARGIN, else within SECOND_SENTENCE_MARGIN."""
    if not sentences:
        return []
    best = sentences[0]
    close = [
        candidate
        for candidate in sentences[1:]
        if candidate.score >= best.score - PERIOD_MARGIN and not _similar(candidate.text, best.text)
    ]
    period = [c for c in close if c.source in in_period] if in_period and best.source not in in_period else []
    close = [c for c in close if c.score >= best.score - OTHER_ARTICLE_MARGIN]
    other_article = [c for c in close if article_of(c) != article_of(best)]
    same_article = [c for c in close if c.score >= best.score - SECOND_SENTENCE_MARGIN]
    return [best, *(period or other_article or same_article)[:1]]


def _several(sentences: list[Sentence], most: int, margin: float) -> list[Sentence]:
    """Up to `most` sentences within `margin` of the best, none repeating one already chosen."""
    chosen: list[Sentence] = []
    for candidate in sentences:
        if len(chosen) == most or (chosen and candidate.score < chosen[0].score - margin):
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
