"""The parts of a question: a scene it sets before asking ("A Russian court ruled ... . How many months ...?"), and
two questions in one ("how big is the planet and how hot does it get?"), each answered on its own."""

from __future__ import annotations

import re

from index.passages import sentence_spans

# "and"/"," before a second question word: "... and how many ...", "..., and who ...", "...; what ..."
SECOND_QUESTION = re.compile(
    r"\s*(?:,\s*and|,|;|\band(?:\s+also)?)\s+(?=(?:how|what|who|whom|whose|when|where|which|why)\b|"
    r"(?:is|are|was|were|did|does|do|will|has|have|can)\s+(?:it|they|he|she|there|the|this|that)\b)",
    re.IGNORECASE,
)
MIN_WORDS = 3  # "... and how?" is no second question
QUESTION_START = re.compile(
    r"^\W*(?:how|what|whats|what's|who|whom|whose|when|where|which|why|is|are|was|were|did|does|do|will|has|have|can)\b",
    re.IGNORECASE,
)


def split_parts(question: str) -> list[str]:
    """The question's parts, in order: one, or two when a second question follows the first."""
    match = SECOND_QUESTION.search(question)
    if not match:
        return [question]
    first, second = question[: match.start()].strip(" ,;"), question[match.end() :].strip()
    if len(first.split()) < MIN_WORDS or len(second.split()) < MIN_WORDS or not QUESTION_START.match(first):
        return [question]
    return [first, second]


def scene_and_question(question: str) -> tuple[str, str]:
    """("the sentences before the last", "the last sentence") when the question sets a scene before asking,
    else ("", question)."""
    spans = sentence_spans(question)
    if len(spans) < 2:
        return "", question
    start = spans[-1].start
    last = question[start:].strip()
    if not (last.endswith("?") or QUESTION_START.match(last)) or len(last.split()) < MIN_WORDS:
        return "", question
    return question[:start].strip(), last
