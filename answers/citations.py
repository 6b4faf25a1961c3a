"""Citation markers: `[n]` refers to the n-th passage given to the answerer. The published numbering
counts sources (articles) in order of first use, so two passages of one article share a number; markers
that point to no given passage are removed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from answers.types import Citation
from index.passages import sentence_spans, sentence_units
from index.types import Passage

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")
PASSAGE_SEPARATOR = "\n…\n"


def renumber(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """The text with valid markers renumbered 1, 2, ... by source in order of first use, and the sources."""
    cited: dict[str, list[Passage]] = {}  # article id -> its cited passages, in order of first use

    def replace(match: re.Match[str]) -> str:
        numbers = []
        for raw in match.group(1).split(","):
            index = int(raw) - 1
            if 0 <= index < len(passages):
                passage = passages[index]
                quoted = cited.setdefault(passage.article.id, [])
                if passage not in quoted:
                    quoted.append(passage)
                number = list(cited).index(passage.article.id) + 1
                if number not in numbers:
                    numbers.append(number)
        return "".join(f"[{n}]" for n in sorted(numbers))

    renumbered = MARKER.sub(replace, text)
    renumbered = re.sub(r"(\[\d+\])(?:\1)+", r"\1", renumbered)
    renumbered = SPACE_BEFORE_PUNCTUATION.sub(r"\1", re.sub(r"[ \t]{2,}", " ", renumbered)).strip()
    return renumbered, [citation(n, quoted) for n, quoted in enumerate(cited.values(), start=1)]


def combined(parts: Sequence[tuple[str, Sequence[Citation]]]) -> tuple[list[str], list[Citation]]:
    """Texts each citing its own sources `[n]`, renumbered into one list of sources in order of first use (an
    article cited by two texts is one source)."""
    numbers: dict[str, int] = {}
    sources: list[Citation] = []
    texts = []
    for text, citations in parts:
        own = {citation.n: citation for citation in citations}

        def number(match: re.Match[str], own: dict[int, Citation] = own) -> str:
            marks = []
            for raw in match.group(1).split(","):
                cited = own.get(int(raw))
                if cited is None:
                    continue
                if cited.article_id not in numbers:
                    numbers[cited.article_id] = len(sources) + 1
                    sources.append(replace(cited, n=numbers[cited.article_id]))
                marks.append(numbers[cited.article_id])
            return "".join(f"[{n}]" for n in sorted(set(marks)))

        texts.append(MARKER.sub(number, text))
    return texts, sources


def citation(n: int, passages: list[Passage]) -> Citation:
    """Source `n`: the article of `passages` and the text of each passage cited from it."""
    article = passages[0].article
    return Citation(
        n=n,
        article_id=article.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published=article.published,
        passage=PASSAGE_SEPARATOR.join(passage.text for passage in sorted(passages, key=lambda p: p.start)),
    )


QUOTED_OVERLAP = 0.5  # the share of an answer sentence's words a passage sentence must hold to be what it quotes


def with_sentences(text: str, citations: list[Citation]) -> list[Citation]:
    """The citations, each with the sentences of its passage that the sentences of `text` citing it quote (or,
    written by an LLM, share the most words with), verbatim."""
    quoted: dict[int, list[str]] = {citation.n: [] for citation in citations}
    by_number = {citation.n: citation for citation in citations}
    for span in sentence_spans(text):
        sentence = text[span.start : span.end]
        words = _words(MARKER.sub("", sentence))
        for group in MARKER.findall(sentence):
            for raw in group.split(","):
                citation = by_number.get(int(raw))
                if citation is not None and words:
                    best = _closest(citation.passage, words)
                    if best and best not in quoted[citation.n]:
                        quoted[citation.n].append(best)
    return [replace(citation, sentences=tuple(quoted[citation.n])) for citation in citations]


def _closest(passage: str, words: set[str]) -> str | None:
    scored = [
        (len(words & _words(passage[unit.start : unit.end])) / len(words), passage[unit.start : unit.end].strip())
        for unit in sentence_units(passage)
        if not unit.furniture
    ]
    share, best = max(scored, default=(0.0, ""))
    return best if share >= QUOTED_OVERLAP else None


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"\w+", text)}
