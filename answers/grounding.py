"""Keeps only the generated sentences that cite a given passage and share most of their words with it."""

from __future__ import annotations

import re

from answers.citations import MARKER
from index.passages import sentence_spans
from index.terms import terms
from index.types import Passage

MIN_OVERLAP = 0.5


def grounded(text: str, passages: list[Passage]) -> str:
    """The sentences of `text` whose citations point to passages that contain most of their content words
    (paragraphs kept)."""
    paragraphs = (_grounded_paragraph(paragraph, passages) for paragraph in text.split("\n\n"))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _grounded_paragraph(text: str, passages: list[Passage]) -> str:
    kept = []
    for span in sentence_spans(text):
        sentence = text[span.start : span.end].strip()
        cited = [int(n) - 1 for group in MARKER.findall(sentence) for n in re.split(r"\s*,\s*", group)]
        sources = " ".join(passages[i].text for i in cited if 0 <= i < len(passages))
        if sources and _overlap(MARKER.sub("", sentence), sources) >= MIN_OVERLAP:
            kept.append(sentence)
    return " ".join(kept)


def _overlap(sentence: str, sources: str) -> float:
    used = set(terms(sentence))
    return len(used & set(terms(sources))) / len(used) if used else 0.0
