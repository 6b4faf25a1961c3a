"""The RealTime QA protocol's scores: Hit@k and MRR of article rankings, and whether an answer names the choice;
answering time and, with an LLM, how often its answer was replaced by the fallback's."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from answers.core import AnswerService
from answers.types import Answer

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


def answering(service: AnswerService, answers: Sequence[Answer]) -> dict[str, Any]:
    """Latency p50 / p95 (ms), and for an answerer with a fallback (the LLM) the share of the answers it did not
    abstain on that the fallback wrote (`fallback_rate`) and why (`fallbacks`: deadline, unavailable, error,
    ungrounded)."""
    latencies = sorted(answer.latency_ms for answer in answers)
    report: dict[str, Any] = {
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
    }
    if service.answerer is not service.fallback:
        answered = [answer for answer in answers if not answer.abstained]
        dropped = [answer for answer in answered if answer.answerer != service.answerer.name]
        report["fallback_rate"] = round(len(dropped) / len(answered), 3) if answered else 0.0
        report["fallbacks"] = dict(Counter(answer.fallback or "unknown" for answer in dropped))
    return report
