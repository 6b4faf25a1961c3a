"""Hybrid retrieval: dense (FAISS) and keyword (BM25) results fused by reciprocal rank, diversified by article."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date

import faiss
import numpy as np

from answers.keywords import KeywordIndex
from index.database import Passage
from index.embeddings import Embedder
from index.reader import IndexReader

RRF_K = 60


@dataclass(frozen=True)
class Filters:
    """Only passages of these outlets and published within [published_from, published_to]."""

    sources: tuple[str, ...] = ()
    published_from: date | None = None
    published_to: date | None = None

    def __bool__(self) -> bool:
        return bool(self.sources or self.published_from or self.published_to)


@dataclass(frozen=True)
class Retrieved:
    passage: Passage
    score: float  # reciprocal-rank fusion of the two rankings
    similarity: float  # cosine similarity to the query (dense), 0 when only BM25 found it
    keyword_score: float  # BM25, 0 when only the dense search found it


class Retriever:
    def __init__(self, reader: IndexReader, embedder: Embedder, candidates: int = 50):
        self.reader = reader
        self.embedder = embedder
        self.candidates = candidates
        self._keywords: tuple[int, KeywordIndex] | None = None
        self._lock = threading.Lock()
        faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead (and stall under load)

    def search(self, query: str, k: int = 6, filters: Filters | None = None, per_article: int = 2) -> list[Retrieved]:
        """The best `k` passages for `query`, at most `per_article` from any one article."""
        snapshot = self.reader.snapshot()
        allowed = self._allowed_ids(filters) if filters else None
        if allowed is not None and len(allowed) == 0:
            return []
        dense = self._dense(snapshot.faiss, query, allowed)
        keyword = self.keyword_index(snapshot.generation).search(query, self.candidates, allowed)
        fused = _fuse(dense, keyword)
        articles = self.reader.article_ids([passage_id for passage_id, _ in fused])
        chosen = _diversified([(pid, articles[pid]) for pid, _ in fused if pid in articles], k, per_article)
        passages = self.reader.passages(chosen)
        similarity, keyword_score, fused_score = dict(dense), dict(keyword), dict(fused)
        return [
            Retrieved(passages[pid], fused_score[pid], similarity.get(pid, 0.0), keyword_score.get(pid, 0.0))
            for pid in chosen
            if pid in passages
        ]

    def _dense(self, index: faiss.IndexIDMap2, query: str, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        if index.ntotal == 0:
            return []
        vector = self.embedder.embed([query])
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else None
        scores, ids = index.search(vector, min(self.candidates, index.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def keyword_index(self, generation: int) -> KeywordIndex:
        with self._lock:
            if self._keywords is None or self._keywords[0] != generation:
                index = KeywordIndex.cached(self.reader.directory, generation, self.reader.all_passages)
                self._keywords = (generation, index)
            return self._keywords[1]

    def _allowed_ids(self, filters: Filters) -> np.ndarray:
        conditions, values = [], []
        if filters.sources:
            conditions.append(f"lower(a.source) IN ({','.join('?' * len(filters.sources))})")
            values.extend(source.lower() for source in filters.sources)
        if filters.published_from:
            conditions.append("substr(a.published, 1, 10) >= ?")
            values.append(filters.published_from.isoformat())
        if filters.published_to:
            conditions.append("substr(a.published, 1, 10) <= ?")
            values.append(filters.published_to.isoformat())
        rows = self.reader.db.execute(
            f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {' AND '.join(conditions)}",
            values,
        )
        return np.array([row[0] for row in rows], dtype=np.int64)


def _fuse(*rankings: list[tuple[int, float]]) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (passage_id, _) in enumerate(ranking):
            scores[passage_id] = scores.get(passage_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def _diversified(ranked: list[tuple[int, str]], k: int, per_article: int) -> list[int]:
    """The best `k` of the (passage id, article id) pairs, best first, taking at most `per_article` passages
    from one article while other articles have passages left."""
    counts: Counter[str] = Counter()
    within_cap, beyond_cap = [], []
    for rank, (passage_id, article_id) in enumerate(ranked):
        counts[article_id] += 1
        (within_cap if counts[article_id] <= per_article else beyond_cap).append((rank, passage_id))
    return [passage_id for _, passage_id in sorted((within_cap + beyond_cap)[:k])]
