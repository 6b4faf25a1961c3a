"""Abstention, calibrated: the evidence signals of labelled questions, the precision and recall of abstaining,
and the rule that does best on them (also cross-validated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from answers.core import AbstentionRule, AnswerService, Signals
from answers.types import Turn

COVERAGE_GRID = [0.3]  # a fixed floor: it also picks on-topic articles for briefings
WEIGHT_GRID = [0.0, 0.25, 0.5, 1.0]
CONFIDENCE_GRID = [round(0.6 + 0.02 * i, 2) for i in range(0, 91)]


@dataclass(frozen=True)
class Labelled:
    """A question with the evidence signals the abstention decision reads (one per part), and whether it is
    answerable."""

    answerable: bool
    signals: tuple[Signals, ...]


def features(service: AnswerService, question: str, answerable: bool, history: Sequence[Turn] = ()) -> Labelled:
    return Labelled(answerable, tuple(Signals.of(service.evidence(question, history))))


def abstains(item: Labelled, rule: AbstentionRule) -> bool:
    return not any(rule.passes(signals) for signals in item.signals)


def abstention_scores(items: Sequence[Labelled], rule: AbstentionRule) -> dict[str, Any]:
    """Precision and recall of abstaining, where the positive class is an unanswerable question."""
    decided = [(abstains(item, rule), not item.answerable) for item in items]
    true_positive = sum(1 for abstained, unanswerable in decided if abstained and unanswerable)
    abstained = sum(1 for a, _ in decided if a)
    unanswerable = sum(1 for _, u in decided if u)
    precision = true_positive / abstained if abstained else 1.0
    recall = true_positive / unanswerable if unanswerable else 1.0
    answered_right = sum(1 for a, u in decided if not a and not u) / max(1, len(decided) - unanswerable)
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(2 * precision * recall / (precision + recall), 3) if precision + recall else 0.0,
        "answerable_answered": round(answered_right, 3),
    }


def calibrate(items: Sequence[Labelled], required: Sequence[Labelled] = ()) -> AbstentionRule:
    """The rule whose abstentions have the best of precision and recall at once (the higher of the two lower),
    then answer the most answerable questions, among those that decide every `required` question (the sample
    article's) right."""

    def balanced(rule: AbstentionRule) -> tuple[float, float]:
        scores = abstention_scores(items, rule)
        return min(scores["precision"], scores["recall"]), scores["answerable_answered"]

    rules = [
        AbstentionRule(coverage, coverage_weight, score_weight, confidence)
        for coverage in COVERAGE_GRID
        for coverage_weight in WEIGHT_GRID
        for score_weight in WEIGHT_GRID
        for confidence in CONFIDENCE_GRID
    ]
    allowed = [rule for rule in rules if all(abstains(item, rule) != item.answerable for item in required)]
    return max(allowed or rules, key=balanced)


def cross_validated(items: Sequence[Labelled], required: Sequence[Labelled]) -> dict[str, Any]:
    """Abstention scores on each half with the rule calibrated on the other half."""
    halves = [items[0::2], items[1::2]]
    held_out = []
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        rule = calibrate(train, required)
        held_out += [(item, rule) for item in test]
    decided = [(abstains(item, rule), not item.answerable) for item, rule in held_out]
    true_positive = sum(1 for a, u in decided if a and u)
    abstained, unanswerable = sum(1 for a, _ in decided if a), sum(1 for _, u in decided if u)
    return {
        "precision": round(true_positive / abstained, 3) if abstained else 1.0,
        "recall": round(true_positive / unanswerable, 3) if unanswerable else 1.0,
    }


def abstention_report(labelled: list[Labelled], required: list[Labelled], rule: AbstentionRule) -> dict[str, Any]:
    return {
        "labelled_questions": len(labelled),
        "unanswerable": sum(1 for item in labelled if not item.answerable),
        "with_settings": {**vars(rule), **abstention_scores(labelled, rule)},
        "two_fold_cross_validated": cross_validated(labelled, required),
    }
