"""Sentence-aware passages: whole sentences, each passage knowing its span in the article text."""

from __future__ import annotations

from dataclasses import dataclass

import blingfire


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str) -> list[Span]:
    """Character spans of the sentences of `text` (blingfire's sentence breaker)."""
    if not text.strip():
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    return [Span(start, end) for start, end in offsets if end > start]


def passage_spans(text: str, target_chars: int) -> list[Span]:
    """Consecutive sentences grouped into passages of about `target_chars`, never cutting a sentence
    (a single sentence longer than twice the target is cut at word boundaries)."""
    passages: list[Span] = []
    current: Span | None = None
    for sentence in _bounded(sentence_spans(text), text, 2 * target_chars):
        if current and sentence.end - current.start > target_chars:
            passages.append(current)
            current = None
        current = Span(current.start if current else sentence.start, sentence.end)
    if current:
        passages.append(current)
    return passages


def _bounded(spans: list[Span], text: str, max_chars: int) -> list[Span]:
    bounded: list[Span] = []
    for span in spans:
        start = span.start
        while span.end - start > max_chars:
            cut = text.rfind(" ", start + 1, start + max_chars)
            cut = cut if cut != -1 else start + max_chars
            bounded.append(Span(start, cut))
            start = cut + 1 if text[cut : cut + 1] == " " else cut
        bounded.append(Span(start, span.end))
    return bounded


def embedded_text(title: str, passage: str) -> str:
    """What is embedded for a passage: its article's title, then its text."""
    return f"{title}\n{passage}" if title else passage


def sentence_offsets(title: str, passage: str) -> list[tuple[int, int]]:
    """Where each sentence of `passage` (`sentence_spans` order) is in `embedded_text(title, passage)`."""
    shift = len(title) + 1 if title else 0
    return [(span.start + shift, span.end + shift) for span in sentence_spans(passage)]
