"""Citation markers: `[n]` refers to the n-th passage given to the answerer; the published numbering
follows first use, and markers that point to no given passage are removed."""

from __future__ import annotations

import re

from answers.types import Citation
from index.database import Passage

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")


def renumber(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """The text with valid markers renumbered 1, 2, ... in order of first use, and the cited sources."""
    order: list[int] = []

    def replace(match: re.Match) -> str:
        numbers = []
        for raw in match.group(1).split(","):
            index = int(raw) - 1
            if 0 <= index < len(passages):
                if index not in order:
                    order.append(index)
                number = order.index(index) + 1
                if number not in numbers:
                    numbers.append(number)
        return "".join(f"[{n}]" for n in numbers)

    renumbered = MARKER.sub(replace, text)
    renumbered = re.sub(r"(\[\d+\])(?:\1)+", r"\1", renumbered)
    renumbered = SPACE_BEFORE_PUNCTUATION.sub(r"\1", re.sub(r"[ \t]{2,}", " ", renumbered)).strip()
    return renumbered, [citation(n, passages[index]) for n, index in enumerate(order, start=1)]


def citation(n: int, passage: Passage) -> Citation:
    article = passage.article
    return Citation(
        n=n,
        article_id=article.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published=article.published,
        passage=passage.text,
    )
