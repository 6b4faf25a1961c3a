"""What a story's digest reads (each article's lead passages), and the last line naming the outlets that no
sentence of the digest cites."""

from __future__ import annotations

from answers.citations import MARKER
from index.types import Passage, StoredArticle

LEAD_PASSAGES = 2  # what a story's digest reads of each article: the lead carries the news
MAX_PASSAGES = 8


def story_passages(leads: list[list[Passage]]) -> list[Passage]:
    """The passages a digest may cite: each article's first passage, then each one's second, up to MAX_PASSAGES."""
    by_depth = [lead[depth] for depth in range(LEAD_PASSAGES) for lead in leads if depth < len(lead)]
    return by_depth[:MAX_PASSAGES]


def also_reported(passages: list[Passage], text: str) -> str:
    """ "Also reported by X [n] and Y [m]." naming the outlets of `passages` that `text` cites nowhere."""
    cited_numbers = {int(n) for group in MARKER.findall(text) for n in group.split(",")}
    cited_outlets = {passages[n - 1].article.outlet for n in cited_numbers if 0 < n <= len(passages)}
    first: dict[str, tuple[int, StoredArticle]] = {}
    for number, passage in enumerate(passages, start=1):
        first.setdefault(passage.article.outlet, (number, passage.article))
    names = [f"{a.source or a.title} [{n}]" for name, (n, a) in first.items() if name not in cited_outlets]
    if not names:
        return ""
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return f"Also reported by {listed}."
