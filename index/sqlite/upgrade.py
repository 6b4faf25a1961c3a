"""Migration 5: an index written before segments gets its per-article filter columns, the keyword statistics as
running totals, the words' counts, and its passages written as segments (tokenised once, in runs of
`Layout.largest_segment`), all in the migration's transaction; the files are written first, so that a crash
leaves only unlisted files, which the next writer deletes. Vectors stay as they were stored (float32; new ones
are float16). The older files (bm25s folder, FAISS file) are deleted after the commit (`schema.connect`)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np

from index.sqlite import dense
from index.sqlite.build import insert_segment, int_meta, passage_rows, source_id, vectors
from index.sqlite.database import set_meta
from index.sqlite.segments import PassageBlock, Postings, Segment
from index.terms import passage_terms
from index.types import Layout, day_number, iso_day

ARTICLE_COLUMNS = ("day", "published_day", "source_id", "passage_count")
DERIVED = ("kw_terms", "kw_tail", "kw_lengths", "segments", "removed_passages", "words")


def to_segments(db: sqlite3.Connection, layout: Layout | None = None) -> None:
    """Run again on an index that has them (a test's stand-in for an older one), it makes them again."""
    layout = layout or Layout()
    have = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
    for column in ARTICLE_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE articles ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX IF NOT EXISTS articles_day ON articles(day)")
    db.execute("CREATE INDEX IF NOT EXISTS articles_added_seq ON articles(added_seq)")
    for table in DERIVED:
        db.execute(f"DELETE FROM {table}")  # noqa: S608 - the names above
    _article_columns(db)
    last = int(db.execute("SELECT coalesce(max(id), 0) FROM passages").fetchone()[0])
    set_meta(db, "next_passage", last + 1)
    set_meta(db, "flushed_through", last)
    set_meta(db, "dense_mode", dense.EXACT)
    terms: dict[str, int] = {}
    df: Counter[str] = Counter()
    words: Counter[str] = Counter()
    passages = length = 0
    generation = int_meta(db, "generation")
    directory = Path(db.execute("PRAGMA database_list").fetchone()[2]).parent
    first = 1
    while first <= last:
        block, articles = passage_rows(db, first, min(last, first + layout.largest_segment - 1))
        if len(block):
            postings = _postings(db, block, terms, df, words)
            segment = Segment.build(int_meta(db, "next_segment", 1), block, articles, postings)
            _write(db, directory, segment)
            passages += len(block)
            length += int(np.asarray(block.lengths).sum())
        first += layout.largest_segment
    db.executemany("INSERT INTO kw_terms (term, id, df) VALUES (?, ?, ?)", [(t, i, df[t]) for t, i in terms.items()])
    db.executemany(
        "INSERT INTO words (word, passages, generation) VALUES (?, ?, ?)", [(w, n, generation) for w, n in words.items()]
    )
    set_meta(db, "kw_next_term", len(terms) + 1)
    set_meta(db, "kw_passages", passages)
    set_meta(db, "kw_length", length)


def _article_columns(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT id, published, added_at, source FROM articles").fetchall()
    updates = []
    for article_id, published, added_at, source in rows:
        day = iso_day(published)
        updates.append((day_number(day or iso_day(added_at)), day_number(day), source_id(db, source), article_id))
    db.executemany("UPDATE articles SET day = ?, published_day = ?, source_id = ? WHERE id = ?", updates)
    db.execute("UPDATE articles SET passage_count = (SELECT count(*) FROM passages p WHERE p.article_id = articles.id)")


def _postings(
    db: sqlite3.Connection, block: PassageBlock, terms: dict[str, int], df: Counter[str], words: Counter[str]
) -> Postings:
    """The block's postings, its passages tokenised once; the term ids given, df and words counted as they go."""
    cursor = db.execute(
        'SELECT a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p'
        " JOIN articles a ON a.id = p.article_id WHERE p.id BETWEEN ? AND ? ORDER BY p.id",
        (int(block.passage_ids[0]), int(block.passage_ids[-1])),
    )
    term_ids, rows, tfs = [], [], []
    for row, (title, text) in enumerate(cursor):
        counted = passage_terms(title, text)
        block.lengths[row] = counted.length
        for term, tf in counted.frequencies.items():
            term_ids.append(terms.setdefault(term, len(terms) + 1))
            rows.append(row)
            tfs.append(tf)
        df.update(counted.frequencies.keys())
        words.update(counted.words)
    return Postings.from_triples(np.array(term_ids, np.int64), np.array(rows, np.int64), np.array(tfs, np.int64))


def _write(db: sqlite3.Connection, directory: Path, segment: Segment) -> None:
    size = segment.write(directory, "upgrade")
    dimension = int_meta(db, "dimension")
    written = None
    if dimension:
        matrix, _ = vectors(db, segment.passages, dimension)
        written = dense.write(directory, dense.segment_file(segment.id, None), dense.flat(matrix))
    insert_segment(db, segment, 2, size, written)
