"""Article text is data, never instructions: sentences that address an AI model are not passed on."""

from __future__ import annotations

import re

from index.passages import sentence_spans

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|above|previous)\b"
    r"|\b(?:system prompt|you are now|new instructions|as an ai\b|language model)",
    re.IGNORECASE,
)


def without_instructions(text: str) -> str:
    """The text less any sentence that reads as an instruction to an AI model."""
    if not INSTRUCTION.search(text):
        return text
    kept = [text[s.start : s.end] for s in sentence_spans(text) if not INSTRUCTION.search(text[s.start : s.end])]
    return " ".join(kept)
