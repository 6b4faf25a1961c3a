"""A story told in a few cited sentences: extractively (its most central sentences) or by the LLM answerer,
whose sentences must be grounded in the passages. Outlets no sentence cites are named in a last, cited line."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from answers.citations import MARKER
from answers.evidence import Sentence
from answers.extractive import cited
from answers.grounding import grounded
from answers.prompts import render
from answers.safety import INSTRUCTION
from briefings.stories import outlet
from index.database import Passage, StoredArticle
from index.embeddings import Embedder
from index.passages import sentence_spans

log = logging.getLogger("newsbot.briefings")
LEAD_PASSAGES = 2  # what a story's digest reads of each article: the lead carries the news
MAX_PASSAGES = 8
MIN_WORDS, MAX_WORDS = 6, 60
REDUNDANT = 0.8  # a sentence this similar to one already chosen says nothing new


def story_passages(leads: list[list[Passage]]) -> list[Passage]:
    """The passages a digest may cite: each article's first passage, then each one's second, up to MAX_PASSAGES."""
    by_depth = [lead[depth] for depth in range(LEAD_PASSAGES) for lead in leads if depth < len(lead)]
    return by_depth[:MAX_PASSAGES]


def extractive_digest(passages: list[Passage], centroid: np.ndarray, embedder: Embedder, max_sentences: int) -> str:
    """The story's most central sentences (the most similar to its centroid), most central first, preferring
    outlets not yet cited, none repeating another; each cited `[n]`, n being its passage's position."""
    candidates = [
        Sentence(text, source, 0.0, 0.0)
        for source, passage in enumerate(passages)
        for span in sentence_spans(passage.text)
        if MIN_WORDS <= len((text := passage.text[span.start : span.end].strip()).split()) <= MAX_WORDS
        and not INSTRUCTION.search(text)
    ]
    if not candidates:
        return ""
    vectors = embedder.embed([sentence.text for sentence in candidates])
    similarity, centrality = vectors @ vectors.T, vectors @ centroid
    outlets = [outlet(passages[sentence.source].article) for sentence in candidates]
    chosen: list[int] = []
    while len(chosen) < max_sentences:
        fresh = [i for i in range(len(candidates)) if all(similarity[i, j] < REDUNDANT for j in chosen)]
        if not fresh:
            break
        new_outlet = [i for i in fresh if outlets[i] not in {outlets[j] for j in chosen}]
        chosen.append(max(new_outlet or fresh, key=lambda i: centrality[i]))
    return " ".join(cited(candidates[i]) for i in chosen)


def llm_digest(generator, prompts_dir: Path, passages: list[Passage]) -> str:
    """The LLM answerer's summary of the story, only its grounded sentences; "" when there are none."""
    try:
        written = "".join(generator.stream(render(prompts_dir, "briefing_question"), [], passages))
    except Exception:  # the LLM is down or failing: the extractive digest still stands
        log.warning("the LLM failed; summarising the story extractively", exc_info=True)
        return ""
    return "" if generator.is_abstention(written) else grounded(written, passages)


def also_reported(passages: list[Passage], text: str) -> str:
    """ "Also reported by X [n] and Y [m]." naming the outlets of `passages` that `text` cites nowhere."""
    cited_numbers = {int(n) for group in MARKER.findall(text) for n in group.split(",")}
    cited_outlets = {outlet(passages[n - 1].article) for n in cited_numbers if 0 < n <= len(passages)}
    first: dict[str, tuple[int, StoredArticle]] = {}
    for number, passage in enumerate(passages, start=1):
        first.setdefault(outlet(passage.article), (number, passage.article))
    names = [f"{a.source or a.title} [{n}]" for name, (n, a) in first.items() if name not in cited_outlets]
    if not names:
        return ""
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return f"Also reported by {listed}."
