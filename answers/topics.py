"""Whether retrieved passages are about a topic: they must contain most of its weighted terms, as answers must."""

from __future__ import annotations

from answers.evidence import QuestionTerms
from answers.retrieve import Retrieved


def on_topic(hits: list[Retrieved], topic: str, min_coverage: float) -> list[Retrieved]:
    terms = QuestionTerms(topic)
    return [hit for hit in hits if terms.coverage(f"{hit.passage.article.title}\n{hit.passage.text}") >= min_coverage]
