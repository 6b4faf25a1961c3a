"""What a reader searches: one committed generation of the index, loaded from the generation before it by reading
only what changed. Segments are immutable and mapped once (kept by id), passages removed from them are read by
sequence number, and the tail (passages not yet in a segment) is held in memory and extended by its new rows. A
new generation costs what the writes since the last one added, never a reload of the whole index."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import faiss
import numpy as np

from index.sqlite import build, dense
from index.sqlite.build import int_meta
from index.sqlite.database import generation, get_meta
from index.sqlite.segments import Segment, concatenate
from index.sqlite.writer import Listed

log = logging.getLogger("newsbot.index")
OPEN_ATTEMPTS = 3  # a listed file missing: a writer merged it away since this read began; read the listing again


class Retry(Exception):
    """A listed segment's file is gone: the listing must be read again, in a new transaction."""


@dataclass
class Part:
    """A segment (or the tail) as a snapshot holds it: its arrays, which of its rows are removed, its dense
    index."""

    segment: Segment
    removed: np.ndarray | None  # one flag per row; None when none is removed
    dense: faiss.Index | None
    listed: Listed | None = None  # None for the tail


@dataclass
class Snapshot:
    generation: int
    parts: list[Part]  # the segments in passage order, then the tail
    passages: int  # BM25's N
    average_length: float
    trained: dense.Trained | None  # the approximate index's, when dense search is approximate
    nprobe: int
    removed_seq: int  # the last removed_passages row read
    tail_through: int  # the tail holds the passages after this id
    tail_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    firsts: list[int] = field(default_factory=list)  # each segment's first passage id, for finding a passage's part

    @property
    def segments(self) -> list[Segment]:
        return [part.segment for part in self.parts]

    @property
    def removed(self) -> list[np.ndarray | None]:
        return [part.removed for part in self.parts]

    def passage_ids(self) -> np.ndarray:
        """Every passage this generation holds (not removed), ascending."""
        return np.concatenate(
            [np.asarray(p.segment.passages.passage_ids)[~p.removed] if p.removed is not None
             else np.asarray(p.segment.passages.passage_ids) for p in self.parts]
        )

    def dense_vectors(self) -> int:
        """How many passages dense search can find (every one it holds, when nothing is amiss)."""
        return sum(
            int(part.dense.ntotal) - (int(part.removed.sum()) if part.removed is not None else 0)
            for part in self.parts
            if part.dense is not None
        )

    def locate(self, passage_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(part, row) of each passage id (every one must be in the snapshot)."""
        parts = np.searchsorted(np.array(self.firsts, dtype=np.int64), passage_ids, side="right") - 1
        parts[(passage_ids > self.tail_through) | (parts < 0)] = len(self.parts) - 1
        rows = np.zeros(len(passage_ids), dtype=np.int64)
        for part in np.unique(parts):
            chosen = parts == part
            rows[chosen] = self.parts[part].segment.rows_of(passage_ids[chosen])
        return parts, rows


def load(db: sqlite3.Connection, directory: Path, previous: Snapshot | None, scanned: int) -> Snapshot:
    """The generation `db`'s read transaction sees, reusing what `previous` already holds; approximate searches
    probe lists holding `scanned` vectors."""
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return _load(db, directory, previous, scanned, damaged_ok=attempt == OPEN_ATTEMPTS - 1)
        except Retry:
            db.execute("COMMIT")
            db.execute("BEGIN")
    raise AssertionError("unreachable")  # the last attempt makes damaged segments from the database instead


def _load(db: sqlite3.Connection, directory: Path, previous: Snapshot | None, scanned: int, damaged_ok: bool) -> Snapshot:
    dimension = int(get_meta(db, "dimension") or 0)
    approximate = get_meta(db, "dense_mode") == dense.APPROXIMATE
    trained = None
    if approximate:
        trained_id = int_meta(db, "ann_trained")
        reused = previous.trained if previous else None
        trained = reused if reused is not None and reused.id == trained_id else _trained(directory, trained_id, damaged_ok)
    kept = {part.listed.id: part for part in previous.parts if part.listed} if previous else {}
    if previous and previous.trained is not trained:
        kept = {}  # every dense file was written again for the new trained index
    removed_seq = previous.removed_seq if previous else 0
    new_removed = db.execute(
        "SELECT seq, passage_id, segment_id FROM removed_passages WHERE seq > ? ORDER BY seq", (removed_seq,)
    ).fetchall()
    parts = []
    for listed in Listed.all(db):
        part = kept.get(listed.id)
        if part is None or part.listed != listed:
            part = _opened(db, directory, listed, trained, dimension, damaged_ok)
        else:
            part = _with_removed(part, [row[1] for row in new_removed if row[2] == listed.id])
        parts.append(part)
    if new_removed:
        removed_seq = new_removed[-1][0]
    passages = int_meta(db, "kw_passages")
    through = int_meta(db, "flushed_through")
    tail, tail_vectors = _tail(db, previous, through, dimension)
    nlist = trained.nlist if trained else 0
    snapshot = Snapshot(
        generation=generation(db),
        parts=[*parts, Part(tail, None, dense.flat(tail_vectors) if dimension else None)],
        passages=passages,
        average_length=int_meta(db, "kw_length") / passages if passages else 1.0,
        trained=trained,
        nprobe=dense.nprobe_for(nlist, passages, scanned) if trained else 0,
        removed_seq=removed_seq,
        tail_through=through,
        tail_vectors=tail_vectors,
        firsts=[part.segment.first for part in parts],
    )
    if trained is not None:
        for part in parts:
            if part.dense is not None:
                cast(faiss.IndexIVF, part.dense).nprobe = snapshot.nprobe
    return snapshot


def _trained(directory: Path, trained_id: int, damaged_ok: bool) -> dense.Trained | None:
    try:
        return dense.read_trained(directory, trained_id)
    except RuntimeError as error:
        if not damaged_ok:
            raise Retry from None
        log.warning("the trained approximate index can't be read (%s); searching exactly until it is rebuilt", error)
        return None


def _opened(
    db: sqlite3.Connection, directory: Path, listed: Listed, trained: dense.Trained | None, dimension: int, damaged_ok: bool
) -> Part:
    """A listed segment, mapped: its arrays, removed rows and dense index. A damaged one (once the listing has
    been read again) is made from the database in memory, slowly, and rewritten by the next writer."""
    try:
        segment = Segment.open(directory, listed.id)
    except (OSError, ValueError, KeyError) as error:
        if not damaged_ok:
            raise Retry from None
        log.warning("segment %s can't be read (%s); making it from the index database", listed.id, error)
        segment = build.from_texts(db, listed.id, listed.first, listed.last)
    removed_ids = [row[0] for row in db.execute("SELECT passage_id FROM removed_passages WHERE segment_id = ?", (listed.id,))]
    part = _with_removed(Part(segment, None, None, listed), removed_ids)
    part.dense = _dense(db, directory, listed, segment, trained, dimension, damaged_ok)
    return part


def _dense(
    db: sqlite3.Connection,
    directory: Path,
    listed: Listed,
    segment: Segment,
    trained: dense.Trained | None,
    dimension: int,
    damaged_ok: bool,
) -> faiss.Index | None:
    if not dimension:
        return None
    expected_ivf = trained is not None
    if listed.dense and listed.dense.endswith(".flat.faiss") != expected_ivf:
        try:
            index = dense.read_segment(directory, listed.dense)
            if (trained is not None and cast(faiss.IndexIVF, index).quantizer.ntotal == trained.nlist) or (
                trained is None and index.ntotal == len(segment)
            ):
                return index
        except RuntimeError:
            pass
    if not damaged_ok:
        raise Retry
    log.warning("the dense file of segment %s can't be read; searching its vectors from the index database", listed.id)
    matrix, present = build.vectors(db, segment.passages, dimension)
    if trained is None:
        return dense.flat(matrix)
    return dense.encoded(trained.index, matrix[present], np.asarray(segment.passages.passage_ids)[present])


def _with_removed(part: Part, passage_ids: list[int]) -> Part:
    if not passage_ids:
        return part
    removed = np.zeros(len(part.segment), dtype=bool) if part.removed is None else part.removed.copy()
    removed[part.segment.rows_of(np.array(passage_ids, dtype=np.int64))] = True
    return Part(part.segment, removed, part.dense, part.listed)


def _tail(db: sqlite3.Connection, previous: Snapshot | None, through: int, dimension: int) -> tuple[Segment, np.ndarray]:
    """The passages after `through` (the tail) and their vectors: the previous snapshot's tail minus what was
    removed, plus the rows added since."""
    ids = np.array([row[0] for row in db.execute("SELECT id FROM passages WHERE id > ? ORDER BY id", (through,))], np.int64)
    old = previous.parts[-1].segment if previous and previous.tail_through == through else None
    old_vectors = previous.tail_vectors if old is not None and previous is not None else None
    seen = old.last if old is not None and len(old) else through
    new_first = seen + 1
    new = build.from_tail(db, -1, new_first, int(ids[-1])) if len(ids) and ids[-1] >= new_first else None
    new_vectors = build.vectors(db, new.passages, dimension)[0] if new is not None and dimension else None
    if old is None or not len(old):
        segment = new if new is not None else build.from_tail(db, -1, through + 1, through)
        matrix = new_vectors if new_vectors is not None else np.zeros((0, dimension), np.float32)
        return segment, matrix
    keep = np.isin(np.asarray(old.passages.passage_ids), ids)
    parts = [(old, keep)] + ([(new, np.ones(len(new), dtype=bool))] if new is not None else [])
    matrices = [old_vectors[keep]] if old_vectors is not None and len(old_vectors) else []
    if new_vectors is not None:
        matrices.append(new_vectors)
    matrix = np.vstack(matrices) if matrices else np.zeros((0, dimension), np.float32)
    return concatenate(-1, parts), matrix
