"""The RealTime QA protocol's scores: Hit@k and MRR of article rankings, and whether an answer names the choice."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

PUNCTUATION = re.compile(r"[^\w\s]")


def retrieval_metrics(rankings: Sequence[list[str]], gold: Sequence[frozenset[str]]) -> dict[str, Any]:
    """Hit@1/5/10 and MRR@10 of article rankings (normalised URLs) against gold URLs."""
    ranks = [
        next((i + 1 for i, url in enumerate(ranking[:10]) if url in golds), None)
        for ranking, golds in zip(rankings, gold, strict=True)
    ]
    count = len(ranks)
    return {
        "questions": count,
        "hit@1": round(sum(1 for r in ranks if r and r <= 1) / count, 3),
        "hit@5": round(sum(1 for r in ranks if r and r <= 5) / count, 3),
        "hit@10": round(sum(1 for r in ranks if r and r <= 10) / count, 3),
        "mrr@10": round(sum(1 / r for r in ranks if r) / count, 3),
    }


def answer_hit(answer: str, correct: str, choices: Sequence[str]) -> bool:
    """The correct choice appears in the answer and no other choice does (case, quotes and punctuation ignored)."""
    text = normalize(answer)
    others = [c for c in choices if normalize(c) != normalize(correct)]
    return normalize(correct) in text and not any(normalize(c) in text for c in others)


def normalize(text: str) -> str:
    return " ".join(PUNCTUATION.sub(" ", text.lower()).split())
