"""Which passages a search may return, decided from each segment's per-article columns (day, publication day,
outlet id, added mark) and its removed passages: a filter costs a few vector operations over a segment's articles,
then one lookup per candidate passage; no per-passage Python objects, nothing loaded per filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.sqlite.segments import ArticleBlock, Segment
from index.types import Filters, day_number


@dataclass(frozen=True)
class Compiled:
    """`Filters` as numbers: outlet ids (None: any outlet), day numbers, a mark."""

    sources: np.ndarray | None
    published_from: int | None
    published_to: int | None
    until: int | None
    added_after: int | None

    @classmethod
    def of(cls, filters: Filters, source_ids: dict[str, int]) -> Compiled:
        """`source_ids`: the outlet id of each lower-case outlet the filters name that the index knows."""
        sources = None
        if filters.sources:
            sources = np.array([source_ids[s.lower()] for s in filters.sources if s.lower() in source_ids], np.int32)
        return cls(
            sources,
            day_number(filters.published_from) if filters.published_from else None,
            day_number(filters.published_to) if filters.published_to else None,
            day_number(filters.until) if filters.until else None,
            filters.added_after,
        )

    def articles(self, articles: ArticleBlock) -> np.ndarray:
        """One flag per article: whether its passages pass."""
        keep = np.ones(len(articles), dtype=bool)
        if self.sources is not None:
            keep &= np.isin(articles.source_ids, self.sources)
        if self.published_from is not None:  # `days`: the publication day, else the day it was added
            keep &= articles.days >= self.published_from
        if self.published_to is not None:
            keep &= articles.days <= self.published_to
        if self.until is not None:
            keep &= articles.days <= self.until
        if self.added_after is not None:
            keep &= articles.marks > self.added_after
        return keep


class Allowed:
    """For one search: which rows of each part (segments, then the tail) pass its filters and are not removed.
    Each part's article flags are worked out once, when first asked."""

    def __init__(self, segments: Sequence[Segment], removed: Sequence[np.ndarray | None], compiled: Compiled | None):
        self.segments, self.removed, self.compiled = segments, removed, compiled
        self._articles: dict[int, np.ndarray] = {}

    def __call__(self, part: int, rows: np.ndarray) -> np.ndarray:
        keep = np.ones(len(rows), dtype=bool)
        if self.compiled is None and self.removed[part] is None:
            return keep
        removed = self.removed[part]
        if removed is not None:
            keep &= ~removed[rows]
        if self.compiled is not None:
            keep &= self._article_flags(part)[np.asarray(self.segments[part].passages.article_rows)[rows]]
        return keep

    def rows(self, part: int) -> np.ndarray | None:
        """Every row of the part as one flag each, or None when all pass."""
        if self.compiled is None and self.removed[part] is None:
            return None
        return self(part, np.arange(len(self.segments[part])))

    def any_article(self, part: int) -> bool:
        return self.compiled is None or bool(self._article_flags(part).any())

    def _article_flags(self, part: int) -> np.ndarray:
        flags = self._articles.get(part)
        if flags is None:
            assert self.compiled is not None
            flags = self._articles[part] = self.compiled.articles(self.segments[part].articles)
        return flags
