"""Re-ranking search hits by a date prior, the same way in every store: a store fetches `pool_size(k, prior)`
hits, then keeps the best `k` of them by score × the prior's factor for each hit's date."""

from __future__ import annotations

from dataclasses import replace

from index.types import DatePrior, Hit

PRIOR_POOL = 4  # with a date prior, a search re-ranks this many times the passages it returns


def pool_size(k: int, prior: DatePrior | None) -> int:
    return k * PRIOR_POOL if prior else k


def reranked(hits: list[Hit], k: int, prior: DatePrior | None) -> list[Hit]:
    """The best `k` hits, by score times the prior's factor when there is a prior (ties keep their order)."""
    if prior:
        hits = [replace(hit, score=hit.score * prior.factor(hit.day)) for hit in hits]
    return sorted(hits, key=lambda hit: -hit.score)[:k]
