"""Whether retrieved passages are about a topic: they contain most of its weighted terms (as answers must), every
name and country it names, and are nearly as similar to it as the best such passage, so that a shared name alone
does not make a match."""

from __future__ import annotations

from answers.evidence import COUNTRY, QuestionTerms, missing_names, text_terms
from answers.retrieve import Retrieved

RELATIVE_SIMILARITY = 0.75


def on_topic(hits: list[Retrieved], topic: str, min_coverage: float) -> list[Retrieved]:
    covered = covering(hits, topic, min_coverage)
    best = max((hit.similarity for hit in covered), default=0.0)
    return [hit for hit in covered if hit.similarity >= RELATIVE_SIMILARITY * best]


def covering(hits: list[Retrieved], topic: str, min_coverage: float) -> list[Retrieved]:
    """The hits whose passage (with its article's title) holds at least `min_coverage` of the topic's terms and every
    name and country the topic names ("the elections in Brazil": not Norland's elections)."""
    terms = QuestionTerms(topic)
    countries = {term for term in terms.weights if COUNTRY.match(term)}
    kept = []
    for hit in hits:
        found = text_terms(f"{hit.passage.article.title}\n{hit.passage.text}")
        if terms.share(found) >= min_coverage and countries <= found and not missing_names(topic, set(found)):
            kept.append(hit)
    return kept
