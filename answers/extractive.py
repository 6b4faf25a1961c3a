"""The extractive answerer: the best sentences of the retrieved passages, each cited. No LLM, instant."""

from __future__ import annotations

import re

from answers.evidence import Evidence, Sentence

MAX_SENTENCES = 2
SECOND_SENTENCE_RATIO = 0.8
LEADING_CLAUSE = re.compile(
    r"^(?:despite [^,]{3,80}|however|meanwhile|nevertheless|still|but|and|also|in addition),\s+(?!who|which|whose)(?=[a-z])",
    re.IGNORECASE,
)


def compose(evidence: Evidence) -> str:
    """Sentences with `[n]` markers, n being the 1-based position of the sentence's passage in the evidence."""
    chosen = _choose(evidence.sentences)
    return " ".join(cited(sentence) for sentence in chosen)


def _choose(sentences: list[Sentence]) -> list[Sentence]:
    if not sentences:
        return []
    best = sentences[0]
    chosen = [best]
    for candidate in sentences[1:]:
        if len(chosen) == MAX_SENTENCES or candidate.score < SECOND_SENTENCE_RATIO * best.score:
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
