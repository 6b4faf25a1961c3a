"""BM25 keyword search over the segments and the tail, scored at query time from each posting's tf and its
passage's length and the index's running totals (passages N, their total length, each term's df), so a write never
re-scores what is already written.

The formula and arithmetic are bm25s's (method "lucene", k1 1.5, b 0.75; idf = ln(1 + (N − df + 0.5)/(df + 0.5))
as float32; a posting's weight tf / (tf + k1·(1 − b + b·len/avgdl)) in float64; their product stored as float32;
a passage's score the float32 sum over the question's terms in the order it names them, a repeated term counted
again), so the scores are bitwise those of bm25s built from scratch over the same passages, however the passages
are split into segments. Equal scores are ranked by passage id.

The best k are found exactly without scoring every posting of every term: terms are taken rarest first (by their
largest possible contribution), the passages holding them become candidates and get their exact scores (every
term looked up); once the terms not taken could add up to less than the k-th best candidate's score, no other
passage can enter the best k. A segment where most passages become candidates is scored whole instead."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.sqlite.segments import Segment

K1, B = 1.5, 0.75
FIRST_POSTINGS = 2_000  # postings the first, rarest terms should hold between them before the first cut
WHOLE_SHARE = 8  # a segment where more than 1/8 of the passages are candidates is scored whole
MARGIN = 1e-5  # relative slack for float32 rounding in the bound

Allowed = Callable[[int, np.ndarray], np.ndarray]  # (part, rows) -> which of them a search may return


def idf(passages: int, df: int) -> np.float32:
    return np.float32(math.log(1 + (passages - df + 0.5) / (df + 0.5)))


def contributions(term_idf: np.float32, tfs: np.ndarray, lengths: np.ndarray, average_length: float) -> np.ndarray:
    """Each posting's float32 score for one term, as bm25s computes and stores it."""
    tf = np.asarray(tfs, dtype=np.float32)
    weight = tf / (K1 * ((1 - B) + B * np.asarray(lengths, dtype=np.int64) / average_length) + tf)
    values: np.ndarray = (np.float64(term_idf) * weight).astype(np.float32)
    return values


@dataclass
class _Part:
    """One segment (or the tail) during a search: its candidates so far and their exact scores."""

    segment: Segment
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    whole: bool = False  # every passage holding a term was scored


@dataclass(frozen=True)
class Query:
    """A question's terms as the index knows them: ids in the order asked (repeats kept) and per id its idf."""

    term_ids: list[int]
    idfs: dict[int, np.float32]


def query_of(terms: Sequence[str], found: dict[str, tuple[int, int]], passages: int) -> Query:
    """`terms` (stemmed, repeats kept) with their (id, df) from the index; terms no passage holds are dropped."""
    ids = [found[term][0] for term in terms if term in found]
    return Query(ids, {found[term][0]: idf(passages, found[term][1]) for term in terms if term in found})


def search(
    segments: Sequence[Segment], query: Query, average_length: float, k: int, allowed: Allowed
) -> list[tuple[int, int, float]]:
    """(part index, row, score) of the best k passages of `segments` that `allowed` passes, best first (equal scores
    by passage id)."""
    if not query.term_ids or k <= 0:
        return []
    parts = [_Part(segment) for segment in segments]
    repeats = Counter(query.term_ids)
    bounds = {term: repeats[term] * _bound(term, query.idfs[term], segments, average_length) for term in repeats}
    order = sorted((term for term in bounds if bounds[term] > 0), key=lambda term: (-bounds[term], term))
    remaining = sum(bounds[term] for term in order)
    threshold, taken = 0.0, 0
    while taken < len(order) and remaining * (1 + MARGIN) >= threshold:
        batch = _next_batch(order[taken:], bounds, remaining, threshold, parts, first=taken == 0)
        for index, part in enumerate(parts):
            _add_candidates(part, batch, query, average_length, allowed, index, k)
        taken += len(batch)
        remaining -= sum(bounds[term] for term in batch)
        threshold = _kth_best(parts, allowed, k)
    return _best(parts, allowed, k)


def _bound(term: int, term_idf: np.float32, segments: Sequence[Segment], average_length: float) -> float:
    """The most one occurrence of `term` in the question can add to any passage's score."""
    best = 0.0
    for segment in segments:
        bound = segment.bound(term)
        if bound is not None:
            value = contributions(term_idf, np.array([bound[0]]), np.array([bound[1]]), average_length)[0]
            best = max(best, float(value))
    return best


def _next_batch(
    order: list[int], bounds: dict[int, float], remaining: float, threshold: float, parts: list[_Part], first: bool
) -> list[int]:
    """The terms to take next: at first the rarest until they hold FIRST_POSTINGS postings; then as many as it
    takes for the rest to be unable to reach `threshold`."""
    batch: list[int] = []
    postings = 0
    for term in order:
        batch.append(term)
        remaining -= bounds[term]
        if first:
            postings += sum(len(found[0]) for part in parts if (found := part.segment.postings.find(term)) is not None)
            if postings >= FIRST_POSTINGS:
                break
        elif remaining * (1 + MARGIN) < threshold:
            break
    return batch


def _add_candidates(
    part: _Part, batch: list[int], query: Query, average_length: float, allowed: Allowed, index: int, k: int
) -> None:
    if part.whole:
        return
    found = [hit[0] for term in batch if (hit := part.segment.postings.find(term)) is not None]
    if not found:
        return
    if len(part.rows) + sum(len(rows) for rows in found) > len(part.segment) / WHOLE_SHARE:
        part.rows, part.scores = _whole(part.segment, query, average_length, allowed, index, k)
        part.whole = True
        return
    marked = np.zeros(len(part.segment), dtype=bool)  # a flag per row: no sort of the postings' union
    for rows in found:
        marked[rows] = True
    marked[part.rows] = False
    new = np.flatnonzero(marked)
    if not len(new):
        return
    part.rows = np.concatenate([part.rows, new])
    part.scores = np.concatenate([part.scores, _scored(part.segment, new, query, average_length)])


def _scored(segment: Segment, rows: np.ndarray, query: Query, average_length: float) -> np.ndarray:
    """The exact scores of `rows` (ascending), every term of the query looked up."""
    lengths = np.asarray(segment.passages.lengths)[rows]
    per_term: dict[int, np.ndarray] = {}
    for term in dict.fromkeys(query.term_ids):
        values = np.zeros(len(rows), dtype=np.float32)
        found = segment.postings.find(term)
        if found is not None:
            term_rows, tfs = found
            at = np.searchsorted(term_rows, rows)
            hit = at < len(term_rows)
            hit[hit] = term_rows[at[hit]] == rows[hit]
            values[hit] = contributions(query.idfs[term], tfs[at[hit]], lengths[hit], average_length)
        per_term[term] = values
    scores = np.zeros(len(rows), dtype=np.float32)
    for term in query.term_ids:  # in the order asked, as bm25s adds them
        scores += per_term[term]
    return scores


def _whole(
    segment: Segment, query: Query, average_length: float, allowed: Allowed, index: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the best `k` passages of `segment` that `allowed` passes (all tied with the k-th kept), every
    posting of the query's terms scored: no other passage of this segment can be among the best k overall."""
    scores = np.zeros(len(segment), dtype=np.float32)
    lengths = np.asarray(segment.passages.lengths)
    per_term: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
    for term in dict.fromkeys(query.term_ids):
        found = segment.postings.find(term)
        per_term[term] = None
        if found is not None:
            rows = np.asarray(found[0])
            per_term[term] = (rows, contributions(query.idfs[term], found[1], lengths[rows], average_length))
    for term in query.term_ids:
        if (entry := per_term[term]) is not None:
            scores[entry[0]] += entry[1]
    rows = np.flatnonzero(scores > 0)
    rows = rows[allowed(index, rows)]
    if len(rows) > k:
        cut = np.partition(scores[rows], -k)[-k]
        rows = rows[scores[rows] >= cut]
    return rows.astype(np.int64), scores[rows]


def _kth_best(parts: list[_Part], allowed: Allowed, k: int) -> float:
    passing = [part.scores[allowed(index, part.rows)] for index, part in enumerate(parts) if len(part.rows)]
    scores = np.concatenate(passing) if passing else np.zeros(0, np.float32)
    return float(np.partition(scores, -k)[-k]) if len(scores) >= k else 0.0


def _best(parts: list[_Part], allowed: Allowed, k: int) -> list[tuple[int, int, float]]:
    indexes, rows, scores, ids = [], [], [], []
    for index, part in enumerate(parts):
        keep = allowed(index, part.rows) if len(part.rows) else np.zeros(0, bool)
        chosen = part.rows[keep]
        indexes.append(np.full(len(chosen), index))
        rows.append(chosen)
        scores.append(part.scores[keep])
        ids.append(np.asarray(part.segment.passages.passage_ids)[chosen])
    if not indexes:
        return []
    all_scores, all_ids = np.concatenate(scores), np.concatenate(ids)
    if len(all_scores) > k:
        cut = np.partition(all_scores, -k)[-k]
        keep = all_scores >= cut
    else:
        keep = np.ones(len(all_scores), dtype=bool)
    order = np.flatnonzero(keep)[np.lexsort((all_ids[keep], -all_scores[keep]))][:k]
    all_indexes, all_rows = np.concatenate(indexes), np.concatenate(rows)
    return [(int(all_indexes[i]), int(all_rows[i]), float(all_scores[i])) for i in order]
