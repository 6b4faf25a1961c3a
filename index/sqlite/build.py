"""Segments made from the database, the source of truth: the passages of an id range with their articles'
columns, their postings (from the tail's rows, or the texts tokenised again) and their vectors. The writer's
flush, a repair of a damaged segment, the upgrade of an index written before segments, and a reader that meets a
damaged segment all make theirs here."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import numpy as np

from common.errors import CorruptIndexError
from index.sqlite.database import database_path, get_meta, set_meta
from index.sqlite.database import decode_vector as decode
from index.sqlite.dense import Written
from index.sqlite.segments import ArticleBlock, PassageBlock, Postings, Segment
from index.store import misfit_vectors
from index.terms import passage_terms

CHUNK = 20_000


def int_meta(db: sqlite3.Connection, key: str, default: int = 0) -> int:
    value = get_meta(db, key)
    return int(value) if value is not None else default


def passage_rows(db: sqlite3.Connection, first: int, last: int) -> tuple[PassageBlock, ArticleBlock]:
    """The passages with ids in [first, last] that exist, and their articles (in the order their passages come);
    their lengths are the tail's (kw_lengths), 0 for others (`text_postings` counts them)."""
    rows = db.execute(
        "SELECT p.id, coalesce(l.length, 0), p.ordinal, p.article_id FROM passages p"
        " LEFT JOIN kw_lengths l ON l.passage_id = p.id WHERE p.id BETWEEN ? AND ? ORDER BY p.id",
        (first, last),
    ).fetchall()
    article_order = list(dict.fromkeys(row[3] for row in rows))
    article_row = {article_id: number for number, article_id in enumerate(article_order)}
    found: dict[str, tuple[int, int, int, int]] = {}
    for start in range(0, len(article_order), 500):
        chunk = article_order[start : start + 500]
        found.update(
            (row[0], row[1:])
            for row in db.execute(
                f"SELECT id, day, published_day, source_id, added_seq FROM articles WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
        )
    columns = [found[article_id] for article_id in article_order]
    width = max((len(article_id.encode()) for article_id in article_order), default=1)
    articles = ArticleBlock(
        np.array([article_id.encode() for article_id in article_order], dtype=f"S{width}"),
        np.array([c[0] for c in columns], dtype=np.int32),
        np.array([c[1] for c in columns], dtype=np.int32),
        np.array([c[2] for c in columns], dtype=np.int32),
        np.array([c[3] for c in columns], dtype=np.int64),
    )
    passages = PassageBlock(
        np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)),
        np.fromiter((row[1] for row in rows), dtype=np.int32, count=len(rows)),
        np.fromiter((article_row[row[3]] for row in rows), dtype=np.int32, count=len(rows)),
        np.fromiter((row[2] for row in rows), dtype=np.int32, count=len(rows)),
    )
    return passages, articles


def tail_postings(db: sqlite3.Connection, passages: PassageBlock) -> Postings:
    """The postings the tail table holds for `passages`."""
    if not len(passages):
        return Postings.from_triples(*(np.zeros(0, np.int64) for _ in range(3)))
    rows = np.array(
        db.execute(
            "SELECT passage_id, term_id, tf FROM kw_tail WHERE passage_id BETWEEN ? AND ?",
            (int(passages.passage_ids[0]), int(passages.passage_ids[-1])),
        ).fetchall(),
        dtype=np.int64,
    ).reshape(-1, 3)
    return Postings.from_triples(rows[:, 1], np.searchsorted(passages.passage_ids, rows[:, 0]), rows[:, 2])


def text_postings(db: sqlite3.Connection, passages: PassageBlock) -> Postings:
    """The postings of `passages`, their texts tokenised again (every term must be in kw_terms); their lengths
    are set in `passages.lengths` as they are counted."""
    term_rows: list[np.ndarray] = []
    row_rows: list[np.ndarray] = []
    tf_rows: list[np.ndarray] = []
    ids: dict[str, int] = {}
    for row, (_, counted) in enumerate(passage_terms_of(db, passages)):
        passages.lengths[row] = sum(counted.values())
        missing = [term for term in counted if term not in ids]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            ids.update(db.execute(f"SELECT term, id FROM kw_terms WHERE term IN ({','.join('?' * len(chunk))})", chunk))
        term_rows.append(np.array([ids[term] for term in counted], dtype=np.int64))
        tf_rows.append(np.array(list(counted.values()), dtype=np.int64))
        row_rows.append(np.full(len(counted), row, dtype=np.int64))
    if not term_rows:
        return Postings.from_triples(*(np.zeros(0, np.int64) for _ in range(3)))
    return Postings.from_triples(np.concatenate(term_rows), np.concatenate(row_rows), np.concatenate(tf_rows))


def passage_terms_of(db: sqlite3.Connection, passages: PassageBlock) -> Iterator[tuple[int, dict[str, int]]]:
    """(passage id, term frequencies) of each passage, tokenised from its article's title and text."""
    if not len(passages):
        return
    cursor = db.execute(
        'SELECT p.id, a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p'
        " JOIN articles a ON a.id = p.article_id WHERE p.id BETWEEN ? AND ? ORDER BY p.id",
        (int(passages.passage_ids[0]), int(passages.passage_ids[-1])),
    )
    for passage_id, title, text in cursor:
        yield passage_id, dict(passage_terms(title, text).frequencies)


def vectors(db: sqlite3.Connection, passages: PassageBlock, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """The passages' vectors (float32 rows in their order; zeros for a passage no longer in the database) and
    which rows the database still holds."""
    matrix = np.zeros((len(passages), dimension), dtype=np.float32)
    present = np.zeros(len(passages), dtype=bool)
    if not len(passages):
        return matrix, present
    cursor = db.execute(
        "SELECT id, vector FROM passages WHERE id BETWEEN ? AND ? ORDER BY id",
        (int(passages.passage_ids[0]), int(passages.passage_ids[-1])),
    )
    while rows := cursor.fetchmany(CHUNK):
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        at = np.searchsorted(passages.passage_ids, ids)
        known = passages.passage_ids[np.minimum(at, len(passages) - 1)] == ids
        matrix[at[known]] = decode_rows(db, [row[1] for row in rows], dimension)[known]
        present[at[known]] = True
    return matrix, present


def decode_rows(db: sqlite3.Connection, blobs: list[bytes], dimension: int) -> np.ndarray:
    """Stored vectors as float32 rows (float16 blobs at once; a mix with older float32 ones row by row);
    CorruptIndexError (what `index check` says) when some are of neither size."""
    if all(len(blob) == 2 * dimension for blob in blobs):
        return np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), dimension).astype(np.float32)
    if any(len(blob) not in (2 * dimension, 4 * dimension) for blob in blobs):
        misfits = db.execute(
            "SELECT count(*) FROM passages WHERE length(vector) NOT IN (?, ?)", (2 * dimension, 4 * dimension)
        ).fetchone()[0]
        raise CorruptIndexError(misfit_vectors(database_path(db), misfits, dimension))
    return np.vstack([decode(blob, dimension) for blob in blobs]) if blobs else np.zeros((0, dimension), np.float32)


def from_tail(db: sqlite3.Connection, segment_id: int, first: int, last: int) -> Segment:
    passages, articles = passage_rows(db, first, last)
    return Segment.build(segment_id, passages, articles, tail_postings(db, passages))


def from_texts(db: sqlite3.Connection, segment_id: int, first: int, last: int) -> Segment:
    passages, articles = passage_rows(db, first, last)
    return Segment.build(segment_id, passages, articles, text_postings(db, passages))


def next_id(db: sqlite3.Connection, key: str) -> int:
    """The next number of a counter kept in meta (segments, trained indexes), counted."""
    value = int_meta(db, key, 1)
    set_meta(db, key, value + 1)
    return value


def insert_segment(db: sqlite3.Connection, segment: Segment, level: int, size: int, written: Written | None) -> None:
    """Lists a written segment (and its dense file) in the caller's transaction."""
    set_meta(db, "next_segment", max(int_meta(db, "next_segment", 1), segment.id + 1))
    db.execute(
        "INSERT INTO segments (id, level, first_passage, last_passage, passages, bytes, dense, dense_bytes, dense_crc)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            segment.id,
            level,
            segment.first,
            segment.last,
            len(segment),
            size,
            written.name if written else None,
            written.size if written else None,
            written.crc if written else None,
        ),
    )


def source_id(db: sqlite3.Connection, source: str) -> int:
    """The id of an outlet (lower case), given when first seen."""
    key = source.lower()
    row = db.execute("SELECT id FROM sources WHERE key = ?", (key,)).fetchone()
    if row:
        return int(row[0])
    cursor = db.execute("INSERT INTO sources (key) VALUES (?)", (key,))
    return int(cursor.lastrowid or 0)
