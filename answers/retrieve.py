"""Hybrid retrieval: dense and keyword search results from the store, scored together with a date prior and
diversified by article.

A passage's score is the log-odds that its article is the one the question is about, up to a constant:
relevance (its cosine similarity, its BM25 score relative to the query's best, its article's second-best
passage similarity, and whether it is the article's lead, weighted) plus the log of the date prior
(answers.date_prior). The weights and the prior
were fitted together by maximum likelihood on RealTime QA's dev questions (`scripts/fit_ranking.py`), so that
relevance and recency are in the same units: recency decides close calls, and never outweighs an article that
clearly answers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple, dataclass
from functools import lru_cache

import numpy as np

from answers.date_prior import DatePrior
from index.store import Search
from index.types import Filters, Hit, Passage, StoredArticle, TextEmbedder, day_number

CANDIDATES = 300  # passages each search returns: cheap (both searches score every passage anyway)


@dataclass(frozen=True)
class Relevance:
    """Weights of relevance in log-odds per unit of each signal."""

    similarity: float  # the passage's cosine similarity to the question
    keyword: float  # its BM25 score divided by the best BM25 score of the question
    second: float  # its article's second-best passage similarity: articles about the question, not mentioning it
    lead: float  # for the article's first passage, where news says what happened


RELEVANCE = Relevance(similarity=4.40, keyword=6.74, second=9.95, lead=1.19)


@dataclass(frozen=True)
class Retrieved:
    passage: Passage
    score: float  # relevance + log date prior, in log-odds (only differences mean something)
    similarity: float  # cosine similarity to the query (dense), 0 when only keyword search found it
    keyword_score: float  # BM25, 0 when only the dense search found it


@dataclass(frozen=True)
class RankedArticle:
    article: StoredArticle
    score: float  # the score of its best passage
    passages: list[Retrieved]  # its best passages, best first


@dataclass(frozen=True)
class Candidates:
    """The passages either search found, and per passage what scoring needs."""

    hits: list[Hit]
    signals: np.ndarray  # per passage, a column per Relevance weight, in its order
    similarity: np.ndarray  # cosine similarity, 0 when only the keyword search found it
    keyword_score: np.ndarray  # BM25, 0 when only the dense search found it
    days: np.ndarray  # its article's day number (index.types.day_number)

    def scores(self, relevance: Relevance, prior: DatePrior | None) -> np.ndarray:
        total: np.ndarray = self.signals @ np.array(astuple(relevance))
        return total + prior.log_factors(self.days) if prior else total


class Retriever:
    def __init__(self, store: Search, embedder: TextEmbedder, candidates: int = CANDIDATES, relevance: Relevance = RELEVANCE):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.relevance = relevance
        self.vector = lru_cache(maxsize=2)(self._embed)  # one answer may search its question twice (time words)

    def search(
        self,
        query: str,
        k: int = 6,
        filters: Filters | None = None,
        per_article: int = 2,
        prior: DatePrior | None = None,
    ) -> list[Retrieved]:
        """The best `k` passages for `query`, at most `per_article` from any one article while others have
        passages left; with a prior, scored with it."""
        if k <= 0:
            return []
        found = self.found(query, filters)
        chosen = _diversified(found, _ranked(found, self.relevance, prior), k, per_article)
        passages = self.store.passages([found.hits[row].passage_id for row, _ in chosen])
        return [
            _retrieved(found, row, score, passages) for row, score in chosen if found.hits[row].passage_id in passages
        ]

    def articles(
        self, query: str, k: int, filters: Filters | None = None, prior: DatePrior | None = None, passages: int = 2
    ) -> list[RankedArticle]:
        """The best `k` articles for `query` (ranked by their best passage), each with its best `passages`."""
        found = self.found(query, filters)
        grouped: dict[str, list[tuple[int, float]]] = {}
        for row, score in _ranked(found, self.relevance, prior):
            article_id = found.hits[row].article_id
            if article_id in grouped or len(grouped) < k:
                grouped.setdefault(article_id, []).append((row, score))
        best = [rows[:passages] for rows in grouped.values()]
        texts = self.store.passages([found.hits[row].passage_id for rows in best for row, _ in rows])
        ranked = []
        for rows in best:
            retrieved = [
                _retrieved(found, row, score, texts) for row, score in rows if found.hits[row].passage_id in texts
            ]
            if retrieved:
                ranked.append(RankedArticle(retrieved[0].passage.article, retrieved[0].score, retrieved))
        return ranked

    def found(self, query: str, filters: Filters | None = None) -> Candidates:
        """What the dense and keyword searches find for `query`, as candidates to score."""
        dense = self.store.dense_search(self.vector(query), self.candidates, filters)
        keyword = self.store.keyword_search(query, self.candidates, filters)
        return candidates(dense, keyword, self.candidates)

    def _embed(self, query: str) -> np.ndarray:
        vector: np.ndarray = self.embedder.embed([query])[0]
        return vector


def candidates(dense: list[Hit], keyword: list[Hit], depth: int) -> Candidates:
    """Both rankings' passages. One missing from a ranking cut at `depth` scores at most as well as the last one
    there; missing from a shorter one, 0."""
    hits = list({hit.passage_id: hit for hit in [*keyword, *dense]}.values())
    similarity, unseen_similarity = _scores(dense, hits, depth)
    keyword_score, _ = _scores(keyword, hits, depth)
    best_keyword = max(keyword[0].score, 1e-9) if keyword else 1.0
    second = _second_best([hit.article_id for hit in hits], similarity, unseen_similarity)
    lead = np.array([hit.ordinal == 0 for hit in hits], dtype=np.float64)
    return Candidates(
        hits,
        np.column_stack([similarity, keyword_score / best_keyword, second, lead]).reshape(len(hits), 4),
        np.where(_within(dense, hits), similarity, 0.0),
        np.where(_within(keyword, hits), keyword_score, 0.0),
        np.array([day_number(hit.day) for hit in hits], dtype=np.int64),
    )


def _scores(ranking: list[Hit], hits: list[Hit], depth: int) -> tuple[np.ndarray, float]:
    """Each hit's score in `ranking` (the unseen score when it is not there), and that unseen score."""
    unseen = ranking[-1].score if len(ranking) >= depth else 0.0
    scores = {hit.passage_id: hit.score for hit in ranking}
    return np.array([scores.get(hit.passage_id, unseen) for hit in hits], dtype=np.float64), unseen


def _within(ranking: list[Hit], hits: list[Hit]) -> np.ndarray:
    found = {hit.passage_id for hit in ranking}
    return np.array([hit.passage_id in found for hit in hits], dtype=bool)


def _second_best(articles: list[str], similarity: np.ndarray, unseen: float) -> np.ndarray:
    """Per passage: the second-best similarity among its article's passages (`unseen` when it has one)."""
    _, article_rows = np.unique(np.array(articles, dtype=object), return_inverse=True)
    order = np.lexsort((-similarity, article_rows))  # by article, best first within each
    first = np.ones(len(order), dtype=bool)
    first[1:] = article_rows[order][1:] != article_rows[order][:-1]
    second = np.full(article_rows.max() + 1 if len(order) else 0, unseen)
    runners_up = np.flatnonzero(~first & np.roll(first, 1))  # the second passage of each article, in `order`
    second[article_rows[order][runners_up]] = similarity[order][runners_up]
    return second[article_rows]


def _ranked(found: Candidates, relevance: Relevance, prior: DatePrior | None) -> list[tuple[int, float]]:
    """(row, score) of every candidate, best first."""
    scores = found.scores(relevance, prior)
    return [(int(row), float(scores[row])) for row in np.argsort(-scores, kind="stable")]


def _retrieved(found: Candidates, row: int, score: float, passages: dict[int, Passage]) -> Retrieved:
    hit = found.hits[row]
    return Retrieved(passages[hit.passage_id], score, float(found.similarity[row]), float(found.keyword_score[row]))


def _diversified(
    found: Candidates, ranked: list[tuple[int, float]], k: int, per_article: int
) -> list[tuple[int, float]]:
    """The best `k`, best first, taking at most `per_article` passages from one article while other articles
    have passages left."""
    counts: Counter[str] = Counter()
    within_cap: list[tuple[int, tuple[int, float]]] = []
    beyond_cap: list[tuple[int, tuple[int, float]]] = []
    for rank, (row, score) in enumerate(ranked):
        counts[found.hits[row].article_id] += 1
        (within_cap if counts[found.hits[row].article_id] <= per_article else beyond_cap).append((rank, (row, score)))
    return [pair for _, pair in sorted((within_cap + beyond_cap)[:k], key=lambda item: item[0])]
