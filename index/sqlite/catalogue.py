"""What filters and hits need to know about every passage, as arrays held with each index generation: its
article, the article's date, outlet and added mark. Filtering is then a few vector operations, never a list of
allowed passages fetched from SQLite."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

import faiss
import numpy as np

from index.types import Filters, day_number, iso_day


@dataclass(frozen=True)
class Catalogue:
    passage_ids: np.ndarray  # ascending: the order of the keyword index's documents
    article_ids: np.ndarray  # per passage: its article's id
    days: np.ndarray  # per passage: its article's publication day number, else the day it was added
    sources: np.ndarray  # per passage: its article's outlet, lower case
    marks: np.ndarray  # per passage: its article's added mark
    ordinals: np.ndarray  # per passage: its position in its article, from 0 (the lead)
    outlets: tuple[str, ...] = ()  # every outlet the articles name, once each (as one of them writes it)

    @classmethod
    def load(cls, connection: sqlite3.Connection) -> Catalogue:
        """Each article's fields worked out once, then spread over its passages by array indexing."""
        articles = connection.execute(
            "SELECT id, published, added_at, lower(source), added_seq, source FROM articles"
        ).fetchall()
        row_of = {row[0]: number for number, row in enumerate(articles)}
        passages = connection.execute("SELECT id, article_id, ordinal FROM passages ORDER BY id").fetchall()
        rows = np.fromiter((row_of[row[1]] for row in passages), dtype=np.int64, count=len(passages))
        published = [iso_day(row[1]) for row in articles]
        days = [day_number(day or iso_day(row[2])) for day, row in zip(published, articles, strict=True)]
        return cls(
            passage_ids=np.fromiter((row[0] for row in passages), dtype=np.int64, count=len(passages)),
            article_ids=np.array([row[0] for row in articles], dtype=object)[rows],
            days=np.array(days, dtype=np.int32)[rows],
            sources=np.array([row[3] for row in articles], dtype=object)[rows],
            marks=np.array([row[4] for row in articles], dtype=np.int64)[rows],
            ordinals=np.fromiter((row[2] for row in passages), dtype=np.int32, count=len(passages)),
            outlets=tuple(
                {row[3]: row[5] for row in sorted(articles, key=lambda row: row[5], reverse=True) if row[5]}.values()
            ),
        )

    def allowed(self, filters: Filters) -> np.ndarray:
        """One flag per passage: whether it passes `filters`."""
        keep = np.ones(len(self.passage_ids), dtype=bool)
        if filters.sources:
            keep &= np.isin(self.sources, [source.lower() for source in filters.sources])
        if filters.published_from:
            keep &= self.days >= day_number(filters.published_from)
        if filters.published_to:
            keep &= self.days <= day_number(filters.published_to)
        if filters.until:
            keep &= self.days <= day_number(filters.until)
        if filters.added_after is not None:
            keep &= self.marks > filters.added_after
        return keep

    def search_parameters(self, allowed: np.ndarray) -> tuple[faiss.SearchParameters, np.ndarray]:
        """FAISS search parameters selecting the allowed passage ids, and the bitmap they read (keep it alive while
        searching)."""
        size = int(self.passage_ids[-1]) + 1 if len(self.passage_ids) else 1
        bits = np.zeros(size, dtype=bool)
        bits[self.passage_ids[allowed]] = True
        bitmap = np.packbits(bits, bitorder="little")
        selector = faiss.IDSelectorBitmap(size, faiss.swig_ptr(bitmap))
        return faiss.SearchParameters(sel=selector), bitmap  # type: ignore[call-arg]  # SWIG stubs lack keyword arguments

    def day(self, position: int) -> date | None:
        number = int(self.days[position])
        return date.fromordinal(number) if number > 0 else None
