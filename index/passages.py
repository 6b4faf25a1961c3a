"""Sentence-aware passages: whole sentences, each passage knowing its span in the article text."""

from __future__ import annotations

import re
from dataclasses import dataclass

import blingfire

ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*\s*$")
FURNITURE_WORDS = 20  # a line without end punctuation this short is a heading, byline, timestamp or credit
STARTS_ANEW = re.compile(r"^\s*[^a-z\s]")  # the next line does not carry on a wrapped sentence


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Unit:
    """A piece of a sentence of `sentence_spans`: the sentence, or one of the lines it spans when a line ends
    without end punctuation."""

    start: int
    end: int
    row: int  # the sentence (sentence_spans order) it is part of, whose stored vector it shares
    furniture: bool  # a short line without end punctuation: a heading, byline, timestamp or photo credit


def sentence_spans(text: str) -> list[Span]:
    """Character spans of the sentences of `text` (blingfire's sentence breaker)."""
    if not text.strip():
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    return [Span(start, end) for start, end in offsets if end > start]


def sentence_units(text: str) -> list[Unit]:
    """The sentences of `text`, with the lines that end without end punctuation (headings, bylines, "Updated ..."
    timestamps, photo credits) cut off as units of their own: "Feb. 21: Emergency landing\nA United Airlines
    flight landed." is two units, the first furniture. A line that runs on into a next line starting in lower
    case is a wrapped sentence, not cut."""
    units = []
    for row, span in enumerate(sentence_spans(text)):
        start = span.start
        for line_end in _line_ends(text, span):
            line = text[start:line_end]
            if ENDS_SENTENCE.search(line) or (_is_furniture(line) and STARTS_ANEW.match(text[line_end + 1 : span.end])):
                units.append(Unit(start, line_end, row, furniture=_is_furniture(line)))
                start = line_end + 1
        piece = text[start : span.end]
        units.append(Unit(start, span.end, row, furniture=_is_furniture(piece) and _whole_line(text, start, span.end)))
    return [unit for unit in units if text[unit.start : unit.end].strip()]


def _line_ends(text: str, span: Span) -> list[int]:
    return [span.start + match.start() for match in re.finditer("\n", text[span.start : span.end])]


def _is_furniture(line: str) -> bool:
    line = line.strip()
    return bool(line) and not ENDS_SENTENCE.search(line) and len(line.split()) <= FURNITURE_WORDS


def _whole_line(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1] == "\n" or not text[:start].strip()) and (
        end >= len(text.rstrip()) or text[end:].startswith("\n") or not text[end:].strip()
    )


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
