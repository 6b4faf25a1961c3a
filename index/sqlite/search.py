"""Dense search over a snapshot's parts, and hits made from what the searches found.

Exact: every part's float16 vectors scored by FAISS, the filters and removed passages applied inside the search
(a bitmap of the part's rows). Approximate: the coarse quantizer once, then each segment's probed lists (PQ
codes), the tail exactly; the best `dense.CANDIDATES` of them all by these scores, those that pass the filters
re-scored exactly from the float16 vectors in SQLite. Too few passing: the candidates are widened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import faiss
import numpy as np

from index.sqlite import dense
from index.sqlite.filters import Allowed, Compiled
from index.sqlite.snapshot import Snapshot
from index.types import Hit

WIDEN = 4
MOST_CANDIDATES = 16_000

Found = list[tuple[float, int]]  # (score, passage id), best first
Vectors = Callable[[np.ndarray], np.ndarray]  # passage ids -> their stored vectors, float32 rows


def exact(snapshot: Snapshot, query: np.ndarray, k: int, compiled: Compiled | None) -> Found:
    allowed = Allowed(snapshot.segments, snapshot.removed, compiled)
    scores, ids = [], []
    for number, part in enumerate(snapshot.parts):
        if part.dense is None or not len(part.segment) or not allowed.any_article(number):
            continue
        flags = allowed.rows(number)
        if flags is not None and not flags.any():
            continue
        found_scores, rows = _search(part.dense, query, min(k, len(part.segment)), flags)
        valid = rows >= 0
        scores.append(found_scores[valid])
        ids.append(np.asarray(part.segment.passages.passage_ids)[rows[valid]])
    return _best(scores, ids, k)


def approximate(snapshot: Snapshot, query: np.ndarray, k: int, compiled: Compiled | None, vectors: Vectors) -> Found:
    """The approximate candidates that pass, re-scored exactly; widened while too few pass."""
    assert snapshot.trained is not None
    allowed = Allowed(snapshot.segments, snapshot.removed, compiled)
    wanted = max(dense.CANDIDATES, k)
    centroid_scores, lists = snapshot.trained.index.quantizer.search(query, snapshot.nprobe)
    while True:
        candidates = _candidates(snapshot, query, wanted, centroid_scores, lists, allowed)
        parts, rows = snapshot.locate(candidates)
        keep = np.zeros(len(candidates), dtype=bool)
        for part in np.unique(parts):
            chosen = parts == part
            keep[chosen] = allowed(int(part), rows[chosen])
        passing = candidates[keep]
        if len(passing) >= k or wanted >= min(MOST_CANDIDATES, snapshot.passages):
            break
        wanted *= WIDEN
    return scored(vectors(np.sort(passing)), np.sort(passing), query, k)


def _candidates(
    snapshot: Snapshot, query: np.ndarray, wanted: int, centroid_scores: np.ndarray, lists: np.ndarray, allowed: Allowed
) -> np.ndarray:
    """The `wanted` best passage ids by approximate score over every segment's probed lists and the tail."""
    scores, ids = [], []
    for part in snapshot.parts[:-1]:
        if part.dense is None or not part.dense.ntotal:
            continue
        found_scores, found_ids = _preassigned(part.dense, query, wanted, lists, centroid_scores)
        valid = found_ids[0] >= 0
        scores.append(found_scores[0][valid])
        ids.append(found_ids[0][valid])
    tail = snapshot.parts[-1]
    if tail.dense is not None and len(tail.segment):
        flags = allowed.rows(len(snapshot.parts) - 1)
        found_scores, rows = _search(tail.dense, query, min(wanted, len(tail.segment)), flags)
        valid = rows >= 0
        scores.append(found_scores[valid])
        ids.append(np.asarray(tail.segment.passages.passage_ids)[rows[valid]])
    best = _best(scores, ids, wanted)
    return np.array([passage_id for _, passage_id in best], dtype=np.int64)


def _preassigned(
    index: faiss.Index, query: np.ndarray, k: int, lists: np.ndarray, centroid_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`k` best of an IVF index's lists already chosen (the coarse quantizer was run once for every segment)."""
    ivf: Any = index  # faiss's stubs give only the C++ signature, not the Python one faiss wraps it in
    found: tuple[np.ndarray, np.ndarray] = ivf.search_preassigned(query, k, lists, centroid_scores)
    return found


def scored(matrix: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> Found:
    """The best `k` of `ids` (their vectors `matrix`), scored exactly as the exact search scores them."""
    if not len(ids):
        return []
    found_scores, rows = dense.flat(matrix).search(query, min(k, len(ids)))
    valid = rows[0] >= 0
    return _best([found_scores[0][valid]], [ids[rows[0][valid]]], k)


def passing_ids(snapshot: Snapshot, compiled: Compiled) -> np.ndarray:
    """Every passage id the filters pass (one look at each part's rows)."""
    allowed = Allowed(snapshot.segments, snapshot.removed, compiled)
    found = []
    for number, part in enumerate(snapshot.parts):
        if not len(part.segment) or not allowed.any_article(number):
            continue
        flags = allowed.rows(number)
        ids = np.asarray(part.segment.passages.passage_ids)
        found.append(ids if flags is None else ids[flags])
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def hits(snapshot: Snapshot, found: Found) -> list[Hit]:
    if not found:
        return []
    ids = np.array([passage_id for _, passage_id in found], dtype=np.int64)
    parts, rows = snapshot.locate(ids)
    return [_hit(snapshot, int(part), int(row), score) for (score, _), part, row in zip(found, parts, rows, strict=True)]


def part_hits(snapshot: Snapshot, found: list[tuple[int, int, float]]) -> list[Hit]:
    """Hits of (part, row, score) triples, in their order."""
    return [_hit(snapshot, part, row, score) for part, row, score in found]


def _hit(snapshot: Snapshot, part: int, row: int, score: float) -> Hit:
    segment = snapshot.parts[part].segment
    article = int(segment.passages.article_rows[row])
    day = int(segment.articles.days[article])
    return Hit(
        int(segment.passages.passage_ids[row]),
        bytes(segment.articles.article_ids[article]).decode(),
        float(score),
        date.fromordinal(day) if day > 0 else None,
        int(segment.passages.ordinals[row]),
    )


def _search(index: faiss.Index, query: np.ndarray, k: int, flags: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the best `k` rows of an exact index, only where `flags` (one per row) is set."""
    if flags is None:
        scores, rows = index.search(query, k)
        return scores[0], rows[0]
    bitmap = np.packbits(flags, bitorder="little")  # the selector reads it: alive until the search is done
    selector = faiss.IDSelectorBitmap(len(flags), faiss.swig_ptr(bitmap))
    params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]  # SWIG stubs lack keyword arguments
    scores, rows = index.search(query, k, params=params)
    return scores[0], rows[0]


def _best(scores: list[np.ndarray], ids: list[np.ndarray], k: int) -> Found:
    """The best `k` (score, id) of the parts' results, equal scores by passage id."""
    if not scores:
        return []
    all_scores, all_ids = np.concatenate(scores), np.concatenate(ids)
    order = np.lexsort((all_ids, -all_scores))[:k]
    return [(float(all_scores[i]), int(all_ids[i])) for i in order]
