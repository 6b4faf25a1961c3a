"""Hybrid retrieval: dense and keyword search results from the store, fused by reciprocal rank and
diversified by article."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from index.store import Store
from index.types import DatePrior, Filters, Hit, Passage

RRF_K = 60


@dataclass(frozen=True)
class Retrieved:
    passage: Passage
    score: float  # reciprocal-rank fusion of the two rankings
    similarity: float  # cosine similarity to the query (dense), 0 when only keyword search found it
    keyword_score: float  # BM25, 0 when only the dense search found it


class Retriever:
    def __init__(self, store: Store, embedder, candidates: int = 50):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates

    def search(
        self,
        query: str,
        k: int = 6,
        filters: Filters | None = None,
        per_article: int = 2,
        prior: DatePrior | None = None,
    ) -> list[Retrieved]:
        """The best `k` passages for `query`, at most `per_article` from any one article."""
        if k <= 0:
            return []
        vector = self.embedder.embed([query])[0]
        dense = self.store.dense_search(vector, self.candidates, filters, prior)
        keyword = self.store.keyword_search(query, self.candidates, filters, prior)
        fused = _fuse(dense, keyword)
        chosen = _diversified(fused, k, per_article)
        passages = self.store.passages([hit.passage_id for hit in chosen])
        similarity = {hit.passage_id: hit.score for hit in dense}
        keyword_score = {hit.passage_id: hit.score for hit in keyword}
        return [
            Retrieved(
                passages[hit.passage_id],
                hit.score,
                similarity.get(hit.passage_id, 0.0),
                keyword_score.get(hit.passage_id, 0.0),
            )
            for hit in chosen
            if hit.passage_id in passages
        ]


def _fuse(*rankings: list[Hit]) -> list[Hit]:
    """One ranking: each passage scored by the sum of 1 / (RRF_K + rank) over the rankings that hold it."""
    scores: dict[int, float] = {}
    hits: dict[int, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking):
            scores[hit.passage_id] = scores.get(hit.passage_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            hits.setdefault(hit.passage_id, hit)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    return [Hit(pid, hits[pid].article_id, score, hits[pid].day) for pid, score in ranked]


def _diversified(ranked: list[Hit], k: int, per_article: int) -> list[Hit]:
    """The best `k` hits, best first, taking at most `per_article` passages from one article while other
    articles have passages left."""
    counts: Counter[str] = Counter()
    within_cap, beyond_cap = [], []
    for rank, hit in enumerate(ranked):
        counts[hit.article_id] += 1
        (within_cap if counts[hit.article_id] <= per_article else beyond_cap).append((rank, hit))
    return [hit for _, hit in sorted((within_cap + beyond_cap)[:k], key=lambda pair: pair[0])]
