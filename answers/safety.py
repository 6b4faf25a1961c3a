"""Article text is data, never instructions: sentences that address an AI model are not passed on.

What counts is a sentence that tells a model what to do (ignore its instructions, reply with something, take on
a new role) or imitates a chat template; an article *about* AI ("released a language model") is ordinary news
and stays answerable and quotable."""

from __future__ import annotations

import re

from index.passages import sentence_spans

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|above|previous)\b"
    r"|\b(?:system prompt|new instructions|you are now|from now on,? you)\b"
    r"|^\W*(?:please\s+)?(?:reply|respond|answer|output|print|repeat)\b[^.!?\n]{0,30}\b(?:only|exactly|with|the word)\b"
    r"|\b(?:assistant|chatbot|ai model|language model|llm|ai)\s*(?:,|:)?\s*(?:you\s+)?(?:must|should|shall)\s+"
    r"(?:now\s+)?(?:ignore|reply|respond|answer|say|tell|output|reveal|obey)\b"
    r"|<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?INST\]|^#{2,}\s*(?:instruction|system)",
    re.IGNORECASE | re.MULTILINE,
)


def is_instruction(sentence: str) -> bool:
    """Whether the sentence reads as an instruction to an AI model rather than as news."""
    return bool(INSTRUCTION.search(sentence.strip()))


def without_instructions(text: str) -> str:
    """The text less any sentence that reads as an instruction to an AI model."""
    kept = [text[s.start : s.end] for s in sentence_spans(text) if not is_instruction(text[s.start : s.end])]
    return " ".join(kept)
