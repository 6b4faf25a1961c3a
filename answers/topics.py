"""Whether retrieved passages are about a topic: they contain most of its weighted terms (as answers must) and
are nearly as similar to it as the best such passage, so that a shared name alone does not make a match."""

from __future__ import annotations

from answers.evidence import QuestionTerms
from answers.retrieve import Retrieved

RELATIVE_SIMILARITY = 0.75


def on_topic(hits: list[Retrieved], topic: str, min_coverage: float) -> list[Retrieved]:
    covered = covering(hits, topic, min_coverage)
    best = max((hit.similarity for hit in covered), default=0.0)
    return [hit for hit in covered if hit.similarity >= RELATIVE_SIMILARITY * best]


def covering(hits: list[Retrieved], topic: str, min_coverage: float) -> list[Retrieved]:
    """The hits whose passage (with its article's title) holds at least `min_coverage` of the topic's terms."""
    terms = QuestionTerms(topic)
    return [hit for hit in hits if terms.coverage(f"{hit.passage.article.title}\n{hit.passage.text}") >= min_coverage]
